"""Accounts and permissions a security reviewer looks at first: passwords, shadow, world-writable, setuid."""

from __future__ import annotations

import fnmatch
import stat
from pathlib import Path

import pytest

from overlay.verify import dpkgdb, imagefs

pytestmark = pytest.mark.offline
LOCKED = ("*", "!")


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def test_root_is_locked(image_root: Path) -> None:
    rows = {row[0]: row for row in imagefs.table(image_root / "etc/shadow") if len(row) > 1}
    assert "root" in rows, "root has no entry in /etc/shadow, so its password cannot be locked"
    passwd = {row[0]: row for row in imagefs.table(image_root / "etc/passwd") if len(row) > 1}
    fields = [("/etc/shadow", rows["root"][1])]
    if "root" in passwd and passwd["root"][1] != "x":
        fields.append(("/etc/passwd", passwd["root"][1]))
    for where, value in fields:
        state = "empty" if not value else "a usable password hash"
        assert value.startswith(LOCKED), (
            f"root's password is not locked in {where} (it is {state}): root could log in with a "
            "password on the console; lock it with '*' or '!'"
        )


def test_no_account_has_an_empty_password(image_root: Path) -> None:
    empty = [
        f"{row[0]} (/etc/shadow)" for row in imagefs.table(image_root / "etc/shadow") if row[1:2] == [""]
    ]
    empty += [
        f"{row[0]} (/etc/passwd)" for row in imagefs.table(image_root / "etc/passwd") if row[1:2] == [""]
    ]
    assert not empty, (
        f"accounts without any password, so anyone may log in as them: {', '.join(empty)}; "
        "lock them with '*' or '!'"
    )


def test_no_account_has_a_usable_password_hash(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = set(fo.allowed("password_users"))
    sources = [("etc/shadow", ""), ("etc/passwd", ""), ("etc/gshadow", "group ")]
    usable = [
        f"{kind}{row[0]} (/{rel})"
        for rel, kind in sources
        for row in imagefs.table(image_root / rel)
        if len(row) > 1
        and row[1] not in ("", "x")
        and not row[1].startswith(LOCKED)
        and row[0] not in allowed
        and (kind or row[0] != "root")  # root's own: test_root_is_locked
    ]
    assert not usable, (
        f"accounts with a usable password hash baked into the image (every instance would share "
        f"the password): {', '.join(usable)}; allow one with allow: {{password_users: [NAME]}}"
    )


SHADOW_FILES = ("etc/shadow", "etc/gshadow", "etc/shadow-", "etc/gshadow-")


def test_shadow_files_are_not_readable_by_others(image_root: Path) -> None:
    loose = []
    for rel in SHADOW_FILES:
        path = image_root / rel
        if path.is_file() and not path.is_symlink():
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o007:
                loose.append(f"/{rel} ({mode:04o})")
    assert not loose, (
        f"password hashes are readable by every user: {', '.join(loose)}; shadow files must be 0640 "
        "root:shadow or stricter"
    )


def test_no_world_writable_files_or_directories(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = fo.allowed("world_writable")
    entries = imagefs.walk(image_root)
    sticky = {e.path for e in entries if e.is_dir and e.mode & stat.S_ISVTX}
    loose = []
    for e in entries:
        if e.is_symlink or not e.mode & stat.S_IWOTH:
            continue
        if e.path in sticky or e.path.rpartition("/")[0] in sticky or _matches(e.path, allowed):
            continue
        loose.append(f"{e.path} ({e.perms})")
    assert not loose, (
        f"world-writable outside sticky directories (any user may change or replace them): "
        f"{', '.join(loose[:20])}"
    )


def _setuid_entries(expected: list[str]) -> list[tuple[str, str, str]]:
    """'MODE USER:GROUP PATH' entries of the setuid allow-list as (mode, owner, path pattern)."""
    out = []
    for entry in expected:
        parts = entry.split()
        if len(parts) != 3:
            pytest.fail(f"setuid allow-list entry '{entry}' is not 'MODE USER:GROUP PATH'", pytrace=False)
        out.append((parts[0].zfill(4), parts[1], parts[2]))
    return out


def test_setuid_and_setgid_files_are_debians(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    known = _setuid_entries(fo.allowed("setuid"))
    db = dpkgdb.database(image_root)
    users, groups = imagefs.names(image_root, "passwd"), imagefs.names(image_root, "group")
    sums = db.digests
    unknown = []
    for e in imagefs.walk(image_root):
        if not e.is_file or not e.mode & (stat.S_ISUID | stat.S_ISGID):
            continue
        owner = f"{users.get(e.uid, e.uid)}:{groups.get(e.gid, e.gid)}"
        what = f"{e.path} ({e.perms} {owner})"
        override = db.overrides.get(e.path)
        if e.path not in db.owned:
            unknown.append(f"{what}: no package owns it")
        elif e.path in sums and dpkgdb.md5(image_root / e.path.lstrip("/")) != sums[e.path]:
            unknown.append(f"{what}: its content differs from its package's")
        elif override and (f"{override.mode:04o}", f"{override.user}:{override.group}") == (e.perms, owner):
            continue
        elif not any(m == e.perms and o == owner and fnmatch.fnmatchcase(e.path, p) for m, o, p in known):
            unknown.append(f"{what}: not a setuid/setgid program Debian ships with this mode")
    assert not unknown, (
        "setuid/setgid files that are not Debian's own (each runs with its owner's rights): "
        + "; ".join(unknown)
        + "; allow one with allow: {setuid: ['MODE USER:GROUP PATH']}"
    )
