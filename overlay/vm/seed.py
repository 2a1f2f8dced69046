"""What cloud-init reads at first boot: a fresh ssh key, an instance-id, a hostname, optional extras.

Two datasources: a NoCloud seed (`cloud-localds`, the default) or an
OpenStack config drive (`config-2`, as Nova writes one, with injected files).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from overlay.core import commands
from overlay.core.errors import OverlayError
from overlay.core.runner import Runner

LOCAL_CAS = Path("/usr/local/share/ca-certificates")
DATASOURCES = ("nocloud", "config-drive")


@dataclass(frozen=True)
class Seed:
    iso: Path
    key: Path  # private key; the public one is key.pub
    hostname: str
    instance_id: str
    user: str = "debian"
    datasource: str = "nocloud"


def host_local_cas() -> list[str]:
    """CAs this host trusts beyond Debian's bundle (e.g. an intercepting proxy's)."""
    if not LOCAL_CAS.is_dir():
        return []
    return [p.read_text() for p in sorted(LOCAL_CAS.rglob("*.crt"))]


def user_data(public_key: str, cas: list[str], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The test's cloud-config: its ssh key, no passwords, the host's CAs, and the extras merged in."""
    data: dict[str, Any] = {"ssh_authorized_keys": [public_key], "ssh_pwauth": False}
    if cas:
        data["ca_certs"] = {"trusted": cas}
    for name, value in (extra or {}).items():
        if name in data and isinstance(value, list):
            data[name] = [*data[name], *value]
        else:
            data[name] = value
    return data


def cloud_config(data: Mapping[str, Any]) -> str:
    return "#cloud-config\n" + yaml.safe_dump(dict(data), sort_keys=True)


def config_drive(
    *,
    instance_id: str,
    hostname: str,
    public_key: str,
    user_data_text: str,
    injected: Mapping[str, bytes] | None = None,
    mac: str | None = None,
) -> dict[str, bytes]:
    """An OpenStack config drive's files (path below the drive → content), laid out as Nova does.

    `injected` (absolute path in the guest → content) become meta_data.json's
    `files`, which cloud-init writes at first boot (mode 0660). With `mac`,
    network_data.json configures DHCP on that NIC only; others stay unconfigured.
    """
    files = []
    tree: dict[str, bytes] = {}
    for number, (path, content) in enumerate(sorted((injected or {}).items())):
        content_path = f"/content/{number:04d}"
        files.append({"path": path, "content_path": content_path})
        tree[f"openstack{content_path}"] = content
    meta: dict[str, Any] = {
        "uuid": instance_id,
        "name": hostname,
        "hostname": hostname,
        "launch_index": 0,
        "availability_zone": "nova",
        "meta": {},
        "public_keys": {"fai-overlay": public_key},
    }
    if files:
        meta["files"] = files
    latest = "openstack/latest"
    tree[f"{latest}/meta_data.json"] = json.dumps(meta, indent=1, sort_keys=True).encode()
    tree[f"{latest}/user_data"] = user_data_text.encode()
    tree[f"{latest}/vendor_data.json"] = b"{}"
    if mac:
        network = {
            "links": [{"id": "nic0", "type": "phy", "ethernet_mac_address": mac, "mtu": 1500}],
            "networks": [{"id": "net0", "link": "nic0", "type": "ipv4_dhcp", "network_id": "net0"}],
            "services": [],
        }
        tree[f"{latest}/network_data.json"] = json.dumps(network, indent=1, sort_keys=True).encode()
    return tree


def make_seed(
    directory: Path,
    runner: Runner,
    *,
    hostname: str,
    trust_host_cas: bool = True,
    extra: Mapping[str, Any] | None = None,
    datasource: str = "nocloud",
    injected: Mapping[str, bytes] | None = None,
    mac: str | None = None,
) -> Seed:
    """Write the seed ISO (directory/seed.iso) for `datasource`; `injected` needs the config drive."""
    key = directory / "id_ed25519"
    runner.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"fai-overlay@{hostname}", "-f", str(key)]
    )
    public_key = key.with_suffix(".pub").read_text().strip()
    data = user_data(public_key, host_local_cas() if trust_host_cas else [], extra)
    iso = directory / "seed.iso"
    if datasource == "config-drive":
        instance_id = str(uuid.uuid4())
        tree = directory / "config-drive"
        drive = config_drive(
            instance_id=instance_id,
            hostname=hostname,
            public_key=public_key,
            user_data_text=cloud_config(data),
            injected=injected,
            mac=mac,
        )
        for rel, content in drive.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(content)
        runner.run(commands.config_drive_iso(iso, tree))
        return Seed(iso, key, hostname, instance_id, datasource=datasource)
    if injected:
        raise OverlayError(
            "injected files need a config drive", hint="set 'datasource: config-drive' in tests/vm.yaml"
        )
    instance_id = f"i-{secrets.token_hex(6)}"
    (directory / "user-data").write_text(cloud_config(data))
    (directory / "meta-data").write_text(
        yaml.safe_dump({"instance-id": instance_id, "local-hostname": hostname})
    )
    runner.run(["cloud-localds", str(iso), str(directory / "user-data"), str(directory / "meta-data")])
    return Seed(iso, key, hostname, instance_id)
