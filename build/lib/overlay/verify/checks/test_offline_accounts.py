"""System users and groups: known names, system ids, no login shells."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.offline
NOLOGIN = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"}


def _table(path: Path) -> list[list[str]]:
    return [line.split(":") for line in path.read_text().splitlines() if line and not line.startswith("#")]


def _known(name: str, allowed: set[str]) -> bool:
    return name in allowed or name.startswith(("_", "systemd-"))


def test_users_are_known_system_accounts(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = set(fo.expect["users"]) | set(fo.expect.get("allow", {}).get("users", []))
    problems = []
    for name, _pw, uid, _gid, _gecos, _home, shell in _table(image_root / "etc/passwd"):
        if not _known(name, allowed):
            problems.append(f"{name}: not a known system user")
        if not (int(uid) < 1000 or int(uid) == 65534):
            problems.append(f"{name}: uid {uid} is not a system uid")
        if shell not in NOLOGIN and shell not in fo.expect["shells"].get(name, []):
            problems.append(f"{name}: login shell {shell}")
    assert not problems, "unexpected accounts in /etc/passwd: " + "; ".join(problems)


def test_groups_are_known_system_groups(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = set(fo.expect["groups"]) | set(fo.expect.get("allow", {}).get("groups", []))
    problems = []
    for name, _pw, gid, *_ in _table(image_root / "etc/group"):
        if not _known(name, allowed):
            problems.append(f"{name}: not a known system group")
        if not (int(gid) < 1000 or int(gid) == 65534):
            problems.append(f"{name}: gid {gid} is not a system gid")
    assert not problems, "unexpected groups in /etc/group: " + "; ".join(problems)


@pytest.mark.parametrize("group", ["root", "nogroup", "adm", "sudo"])
def test_required_group_exists(image_root: Path, group: str) -> None:
    names = {row[0] for row in _table(image_root / "etc/group")}
    assert group in names, f"group {group} is missing from /etc/group"
