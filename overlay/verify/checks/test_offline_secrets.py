"""Baked credentials and personal files: private keys, authorized_keys, histories, credential files."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from overlay.verify import dpkgdb, imagefs, sshd

pytestmark = pytest.mark.offline

PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----|PuTTY-User-Key-File-\d+:")
MAX_KEY_FILE = 1 << 20  # a key file is small; bigger unowned files (initrd, databases) are not read
# Generated at boot, or reported by their own check (test_no_ssh_host_keys).
NOT_SCANNED = ("/proc/", "/sys/", "/dev/", "/run/", "/etc/ssh/ssh_host_")
AUTHORIZED_KEYS_DEFAULT = ".ssh/authorized_keys .ssh/authorized_keys2"
PYC = re.compile(r"^(?P<dir>.*)/__pycache__/(?P<name>[^/.]+)\.[^/]+\.pyc$")


def _compiled_from_package(path: str, owned: frozenset[str]) -> bool:
    """Byte code Python compiled from a package's module (py3compile at install, or at import)."""
    found = PYC.match(path)
    return found is not None and f"{found['dir']}/{found['name']}.py" in owned


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def test_no_private_keys_outside_package_files(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = fo.allowed("private_keys")
    owned = dpkgdb.database(image_root).owned
    found = []
    for e in imagefs.walk(image_root):
        if not e.is_file or e.size > MAX_KEY_FILE or e.path in owned or e.path.startswith(NOT_SCANNED):
            continue
        if _compiled_from_package(e.path, owned):
            continue
        try:
            content = (image_root / e.path.lstrip("/")).read_bytes()
        except OSError:
            continue
        if PRIVATE_KEY.search(content) and not _matches(e.path, allowed):
            found.append(e.path)
    assert not found, (
        f"private keys that no package ships are baked into the image (every instance would share "
        f"them): {', '.join(found)}; generate keys at first boot instead"
    )


def _authorized_keys_files(image_root: Path) -> list[str]:
    """Where sshd looks for each account's keys (AuthorizedKeysFile, %h %u %% expanded)."""
    setting = sshd.read(image_root).value("AuthorizedKeysFile") or AUTHORIZED_KEYS_DEFAULT
    accounts = [(row[0], row[5]) for row in imagefs.table(image_root / "etc/passwd") if len(row) > 5]
    accounts += [("", home) for home in imagefs.homes(image_root)]
    out = set()
    for user, home in accounts:
        for token in setting.split():
            path = token.replace("%h", home).replace("%u", user).replace("%%", "%")
            out.add(path if path.startswith("/") else f"{home.rstrip('/')}/{path}")
    return sorted(out)


def test_no_authorized_keys(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = fo.allowed("personal_files")
    resolver = imagefs.Resolver(image_root)
    found = [
        p
        for p in _authorized_keys_files(image_root)
        if "%" not in p and resolver.host_path(p).is_file() and not _matches(p, allowed)
    ]
    assert not found, (
        f"ssh keys are authorized in the image (whoever holds the private key logs in to every "
        f"instance): {', '.join(found)}; let cloud-init install the user's keys at boot"
    )


def _in_homes(image_root: Path, names: list[str], allowed: list[str]) -> list[str]:
    resolver = imagefs.Resolver(image_root)
    found = []
    for home in imagefs.homes(image_root):
        for name in names:
            path = f"{home.rstrip('/')}/{name}"
            host = resolver.host_path(path)
            if (host.exists() or host.is_symlink()) and not _matches(path, allowed):
                found.append(path)
    return found


def test_no_shell_or_editor_histories(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    found = _in_homes(image_root, fo.expect["histories"], fo.allowed("personal_files"))
    assert not found, (
        f"shell or editor histories from the build are in the image (they show what was typed, "
        f"passwords included): {', '.join(found)}"
    )


def test_no_credential_files(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    found = _in_homes(image_root, fo.expect["credential_files"], fo.allowed("personal_files"))
    assert not found, (
        f"credential files are in the image (every instance would carry someone's secrets): "
        f"{', '.join(found)}"
    )
