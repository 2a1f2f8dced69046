"""pytest plugin for image checks: `pytest -p overlay.verify.plugin --fo-context FILE`.

Fixtures:
  fo            the context: mode (offline/live), the typed manifest, arch (with its table entry),
                vendor, expectations; live: the VM's forwarded ports, NICs and seed directories
  image_root    the image's root filesystem, mounted read-only (offline; live if the overlay's
                tests/vm.yaml says image_root: true)
  image_chroot  wherever image_root is: the image's own programs run on the host in a chroot of it,
                with a scratch directory at /mnt (overlay.verify.chroot)
  host          a testinfra Host: chroot into the mounted image (offline) or ssh with sudo (live)
  user_host     live only: ssh as the default user, without sudo
  runner        overlay.runner.Runner, for host tools (dpkg-query --admindir, systemctl --root, ...)

Markers: `offline`, `live` (both allowed). Unmarked tests count as offline.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from overlay.build import hostsetup
from overlay.core.arches import Arch
from overlay.core.runner import Runner
from overlay.manifest import model
from overlay.verify import chroot


@dataclass(frozen=True)
class Context:
    mode: str
    manifest: model.BuildManifest
    expect: dict[str, Any]
    root: Path | None = None
    image: Path | None = None
    ssh: dict[str, Any] | None = None
    vm: dict[str, Any] = field(default_factory=dict)

    @property
    def arch_spec(self) -> Arch:
        """The architecture's entry of the table (overlay/data/arches.yaml)."""
        return self.manifest.image.arch

    @property
    def arch(self) -> str:
        return self.manifest.image.arch.name

    @property
    def vendor(self) -> str:
        return self.manifest.image.vendor.value

    @property
    def release(self) -> str:
        return self.manifest.image.release

    @property
    def firmware(self) -> str | None:
        """Live only: the firmware the VM booted with (bios, uefi, secureboot, slof)."""
        return self.ssh.get("firmware") if self.ssh else None

    @property
    def nics(self) -> list[dict[str, Any]]:
        """Live only: the VM's NICs in order, each with its `net` and `mac` (tests/vm.yaml)."""
        return list(self.vm.get("nics", []))

    def forwarded(self, port: int, nic: int = 0) -> int:
        """Live only: the host port (on 127.0.0.1) that QEMU forwards to guest `port` of NIC `nic`."""
        for forward in self.vm.get("forwards", []):
            if forward["nic"] == nic and forward["port"] == port:
                return int(forward["host_port"])
        raise LookupError(
            f"no forward to port {port} of NIC {nic}: declare it in the overlay's tests/vm.yaml"
        )

    def seed_dir(self, overlay: str) -> Path:
        """Live only: the directory the overlay's tests/seed script ran in, before the boot."""
        try:
            return Path(self.vm["seed_dirs"][overlay])
        except KeyError:
            raise LookupError(f"the overlay {overlay!r} has no tests/seed that ran for this boot") from None

    def packages(self) -> set[str]:
        return self.manifest.package_names()

    def allowed(self, key: str) -> list[str]:
        """An allow-list: data/checks.yaml's entries plus the overlays' (allow: in overlay.yaml)."""
        own = self.expect.get(key)
        return [*(own if isinstance(own, list) else []), *self.expect.get("allow", {}).get(key, [])]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fo-context", required=True, help="JSON file describing the image under test")


def pytest_configure(config: pytest.Config) -> None:
    data = json.loads(Path(config.getoption("--fo-context")).read_text())
    config.stash[CONTEXT] = Context(
        mode=data["mode"],
        manifest=model.load(Path(data["manifest"])),
        expect=data["expect"],
        root=Path(data["root"]) if data.get("root") else None,
        image=Path(data["image"]) if data.get("image") else None,
        ssh=data.get("ssh"),
        vm=data.get("vm") or {},
    )


CONTEXT = pytest.StashKey[Context]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = config.stash[CONTEXT].mode
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marks = {m.name for m in item.iter_markers()} & {"offline", "live"}
        (keep if mode in marks or (not marks and mode == "offline") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(scope="session")
def fo(request: pytest.FixtureRequest) -> Context:
    return request.config.stash[CONTEXT]


@pytest.fixture(scope="session")
def runner() -> Runner:
    return Runner()


@pytest.fixture(scope="session")
def image_root(fo: Context) -> Path:
    if fo.root is None:
        pytest.fail(
            "image_root is available offline, and live only with 'image_root: true' in the overlay's "
            "tests/vm.yaml",
            pytrace=False,
        )
    return fo.root


@pytest.fixture(scope="session")
def image_chroot(
    image_root: Path, fo: Context, runner: Runner, request: pytest.FixtureRequest
) -> Iterator[chroot.Chroot]:
    hostsetup.ensure_binfmt(fo.arch_spec, runner)  # a foreign image's programs run under qemu-user
    # next to the context, in the directory fai-overlay removes after the run whatever happens
    scratch = Path(request.config.getoption("--fo-context")).parent / "chroot-mnt"
    scratch.mkdir(exist_ok=True)
    try:
        with chroot.image_chroot(image_root, scratch, runner) as jail:
            yield jail
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ssh_host(fo: Context, sudo: bool) -> Any:
    import testinfra

    assert fo.ssh is not None
    url = f"ssh://{fo.ssh['user']}@127.0.0.1:{fo.ssh['port']}?timeout=60&controlpersist=0"
    return testinfra.get_host(url, ssh_config=fo.ssh["config"], sudo=sudo)


@pytest.fixture(scope="session")
def host(fo: Context) -> Any:
    if fo.mode == "live":
        return _ssh_host(fo, sudo=True)
    from testinfra.backend.chroot import ChrootBackend
    from testinfra.host import Host

    backend = ChrootBackend(str(fo.root))
    h = Host(backend)
    backend.set_host(h)
    return h


@pytest.fixture(scope="session")
def user_host(fo: Context) -> Any:
    if fo.mode != "live":
        pytest.fail("user_host is only available live", pytrace=False)
    return _ssh_host(fo, sudo=False)
