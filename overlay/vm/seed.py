"""The NoCloud seed: a fresh ssh key, an instance-id, a hostname, and optional extras."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from overlay.core.runner import Runner

LOCAL_CAS = Path("/usr/local/share/ca-certificates")


@dataclass(frozen=True)
class Seed:
    iso: Path
    key: Path  # private key; the public one is key.pub
    hostname: str
    instance_id: str
    user: str = "debian"


def host_local_cas() -> list[str]:
    """CAs this host trusts beyond Debian's bundle (e.g. an intercepting proxy's)."""
    if not LOCAL_CAS.is_dir():
        return []
    return [p.read_text() for p in sorted(LOCAL_CAS.rglob("*.crt"))]


def make_seed(
    directory: Path,
    runner: Runner,
    *,
    hostname: str,
    trust_host_cas: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> Seed:
    key = directory / "id_ed25519"
    runner.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"fai-overlay@{hostname}", "-f", str(key)]
    )
    instance_id = f"i-{secrets.token_hex(6)}"
    user_data: dict[str, Any] = {
        "ssh_authorized_keys": [key.with_suffix(".pub").read_text().strip()],
        "ssh_pwauth": False,
    }
    cas = host_local_cas() if trust_host_cas else []
    if cas:
        user_data["ca_certs"] = {"trusted": cas}
    for name, value in (extra or {}).items():
        if name in user_data and isinstance(value, list):
            user_data[name] = [*user_data[name], *value]
        else:
            user_data[name] = value
    (directory / "user-data").write_text("#cloud-config\n" + yaml.safe_dump(user_data, sort_keys=True))
    (directory / "meta-data").write_text(
        yaml.safe_dump({"instance-id": instance_id, "local-hostname": hostname})
    )
    iso = directory / "seed.iso"
    runner.run(["cloud-localds", str(iso), str(directory / "user-data"), str(directory / "meta-data")])
    return Seed(iso, key, hostname, instance_id)
