"""What an overlay's tests ask of the VM they run in: tests/vm.yaml and tests/seed.

`tests/vm.yaml` (optional) describes the VM:

    datasource: config-drive   # nocloud (default) or an OpenStack config drive (config-2)
    image_root: true           # the booted image, mounted read-only on the host during the live tests
    nics:                      # the first NIC is the one ssh uses (22 is always forwarded)
      - forwards: [9443]       # TCP ports forwarded from the host's 127.0.0.1
      - net: 10.0.3.0/24       # a second NIC on its own user-mode network
        mac: "52:54:00:00:03:01"
        forwards: ["10.0.3.100:80"]   # to an address the guest will have, not DHCP's

`tests/seed` (optional, executable) runs before the boot with a fresh
directory; it prints cloud-config that is merged into the test's own, and
files it leaves below DIR/injected/ become the config drive's injected files,
at their path below injected/. The live tests find the directory in their
context (`fo.seed_dir(overlay)`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from overlay.core import yamlsrc
from overlay.core.errors import OverlayError
from overlay.core.runner import Runner
from overlay.vm import qemu
from overlay.vm.seed import DATASOURCES

FIRST_MAC = "52:54:00:12:34:56"  # QEMU's own default for the first NIC, made explicit
SLIRP_NET = "10.0.2.0/24"
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MAX_NICS = 4
KEYS = {"datasource", "image_root", "nics"}
NIC_KEYS = {"forwards", "net", "mac"}


@dataclass(frozen=True)
class VmConf:
    datasource: str = "nocloud"
    image_root: bool = False
    nics: tuple[qemu.Nic, ...] = (qemu.Nic(mac=FIRST_MAC),)
    sources: tuple[Path, ...] = ()


@dataclass
class VmSetup:
    conf: VmConf = field(default_factory=VmConf)
    cloud_config: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, bytes] = field(default_factory=dict)
    seed_dirs: dict[str, str] = field(default_factory=dict)


def _forward(doc: yamlsrc.Doc, key: yamlsrc.Key, value: Any, net: str) -> qemu.Forward:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    address, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise doc.error(
            key, f"forward {value!r} is not a port or ADDRESS:PORT", hint="e.g. 9443 or 10.0.3.100:80"
        )
    if address:
        try:
            inside = ipaddress.IPv4Address(address) in ipaddress.IPv4Network(net)
        except ValueError:
            inside = False
        if not inside:
            raise doc.error(
                key, f"forward {value!r}: {address} is not an address of the NIC's network {net}"
            )
    return qemu.Forward(int(port), address)


def _nic(doc: yamlsrc.Doc, index: int, value: Any) -> qemu.Nic:
    key: yamlsrc.Key = ("nics", index)
    if not isinstance(value, dict):
        raise doc.error(key, f"nics[{index}] must be a mapping with forwards, net and mac")
    unknown = sorted(set(value) - NIC_KEYS)
    if unknown:
        raise doc.error(
            (*key, unknown[0]), f"unknown key '{unknown[0]}' in nics[{index}]", hint="use forwards, net, mac"
        )
    net = value.get("net")
    if net is not None:
        try:
            ipaddress.IPv4Network(str(net))
        except ValueError:
            raise doc.error(
                (*key, "net"), f"net {net!r} is not an IPv4 network", hint="e.g. 10.0.3.0/24"
            ) from None
    mac = value.get("mac")
    if mac is not None and not MAC_RE.match(str(mac).lower()):
        raise doc.error(
            (*key, "mac"), f"mac {mac!r} is not a MAC address", hint='quote it: "52:54:00:00:03:01"'
        )
    forwards_value = value.get("forwards") or []
    if not isinstance(forwards_value, list):
        raise doc.error((*key, "forwards"), f"nics[{index}].forwards must be a list")
    forwards = [
        _forward(doc, (*key, "forwards", i), f, str(net or SLIRP_NET)) for i, f in enumerate(forwards_value)
    ]
    ports = [f.port for f in forwards]
    if index == 0 and 22 in ports:
        raise doc.error((*key, "forwards"), "the first NIC forwards ssh (22) already")
    if len(set(ports)) != len(ports):
        raise doc.error((*key, "forwards"), f"nics[{index}] forwards a guest port twice")
    return qemu.Nic(tuple(forwards), str(net) if net else None, str(mac).lower() if mac else None)


def read(path: Path) -> tuple[dict[str, Any], VmConf]:
    """One tests/vm.yaml: the keys it sets, and the VM it describes. Errors name the file and line."""
    doc = yamlsrc.load(path)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "tests/vm.yaml must be a mapping", hint=f"keys: {', '.join(sorted(KEYS))}")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise doc.error(
            (unknown[0],), f"unknown key '{unknown[0]}'", hint=f"keys: {', '.join(sorted(KEYS))}"
        )
    datasource = data.get("datasource", "nocloud")
    if datasource not in DATASOURCES:
        raise doc.error(("datasource",), f"datasource {datasource!r} is not one of {', '.join(DATASOURCES)}")
    image_root = data.get("image_root", False)
    if not isinstance(image_root, bool):
        raise doc.error(("image_root",), "image_root must be true or false")
    nics_value = data.get("nics", [{}])
    if not isinstance(nics_value, list) or not 0 < len(nics_value) <= MAX_NICS:
        raise doc.error(("nics",), f"nics must be a list of 1 to {MAX_NICS} NICs")
    nics = [_nic(doc, i, v) for i, v in enumerate(nics_value)]
    if nics[0].mac is None:
        nics[0] = qemu.Nic(nics[0].forwards, nics[0].net, FIRST_MAC)
    macs = [n.mac for n in nics if n.mac]
    if len(set(macs)) != len(macs):
        raise doc.error(
            ("nics",), "two NICs have the same MAC address", hint=f"the first one's is {nics[0].mac}"
        )
    return data, VmConf(datasource, image_root, tuple(nics), (path,))


def merge(confs: list[tuple[dict[str, Any], VmConf]]) -> VmConf:
    """Several overlays' vm.yaml: one datasource, forwards on the first NIC combined, more NICs appended."""
    if not confs:
        return VmConf()
    explicit = {conf.datasource for data, conf in confs if "datasource" in data}
    sources = tuple(p for _, conf in confs for p in conf.sources)
    if len(explicit) > 1:
        raise OverlayError(
            f"the overlays' tests/vm.yaml ask for different datasources ({', '.join(sorted(explicit))})",
            path=sources[-1],
            hint=f"see {', '.join(map(str, sources))}",
        )
    first = confs[0][1].nics[0]
    for _, conf in confs[1:]:
        added = tuple(f for f in conf.nics[0].forwards if f not in first.forwards)
        first = qemu.Nic((*first.forwards, *added), first.net, first.mac)
    nics = (first, *(n for _, conf in confs for n in conf.nics[1:]))
    macs = [n.mac for n in nics if n.mac]
    if len(set(macs)) != len(macs) or len(nics) > MAX_NICS:
        raise OverlayError(
            f"the overlays' tests/vm.yaml together ask for {len(nics)} NICs or repeat a MAC address",
            path=sources[-1],
            hint=f"see {', '.join(map(str, sources))}",
        )
    return VmConf(
        explicit.pop() if explicit else "nocloud", any(c.image_root for _, c in confs), nics, sources
    )


def conf_of(test_dirs: list[Path]) -> VmConf:
    return merge([read(d / "vm.yaml") for d in test_dirs if (d / "vm.yaml").is_file()])


def _injected(directory: Path) -> dict[str, bytes]:
    root = directory / "injected"
    if not root.is_dir():
        return {}
    return {"/" + str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def prepare(
    test_dirs: list[Path], workdir: Path, runner: Runner, base: Mapping[str, Any] | None = None
) -> VmSetup:
    """Read the overlays' tests/vm.yaml and run their tests/seed scripts (before the VM starts)."""
    setup = VmSetup(conf_of(test_dirs), dict(base or {}))
    for tests in test_dirs:
        script = tests / "seed"
        if not script.is_file():
            continue
        if not os.access(script, os.X_OK):
            raise OverlayError(f"{script} is not executable", hint=f"chmod +x {script}")
        directory = workdir / f"seed-{tests.parent.name}"
        directory.mkdir(parents=True, exist_ok=True)
        setup.seed_dirs[tests.parent.name] = str(directory)
        out = runner.run([str(script), str(directory)]).stdout
        try:
            fragment = yaml.safe_load(out) or {}
        except yaml.YAMLError as exc:
            raise OverlayError(f"{script} printed invalid YAML: {exc}") from None
        if not isinstance(fragment, dict):
            raise OverlayError(f"{script} printed {type(fragment).__name__}, not a cloud-config mapping")
        for key, value in fragment.items():
            if isinstance(value, list) and isinstance(setup.cloud_config.get(key), list):
                setup.cloud_config[key] = [*setup.cloud_config[key], *value]
            else:
                setup.cloud_config[key] = value
        for path, content in _injected(directory).items():
            if path in setup.injected:
                raise OverlayError(f"{script} injects {path}, which another overlay's seed injects too")
            setup.injected[path] = content
        if setup.injected and setup.conf.datasource != "config-drive":
            raise OverlayError(
                f"{script} left files in {directory / 'injected'}, which only a config drive carries",
                hint=f"set 'datasource: config-drive' in {tests / 'vm.yaml'}",
            )
    return setup
