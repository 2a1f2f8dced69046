"""The security checks' logic on small trees: what passes, what fails, what an allowance lets through.

The checks run for real against planted faults in tests/integration/test_planted_faults.py;
here each is called as a function, with a stand-in for the plugin's `fo`.
"""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from overlay.verify import dpkgdb, imagefs
from overlay.verify.plugin import Context
from overlay.verify.target import expectations


@pytest.fixture(scope="module")
def checks(request: pytest.FixtureRequest) -> dict[str, ModuleType]:
    for marker in ("offline: image check", "live: image check"):  # the check modules mark themselves
        request.config.addinivalue_line("markers", marker)
    names = ["security", "secrets", "sshd"]
    return {n: importlib.import_module(f"overlay.verify.checks.test_offline_{n}") for n in names}


class Fo:
    """What the checks use of the plugin's context."""

    allowed = Context.allowed

    def __init__(self, vendor: str = "genericcloud", **allow: list[str]) -> None:
        self.vendor = vendor
        self.expect: dict[str, Any] = {**expectations(), "allow": allow}


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    imagefs.walk.cache_clear()
    dpkgdb.database.cache_clear()
    root = tmp_path / "image"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_accounts(checks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sec = checks["security"]
    passwd = "root:x:0:0:root:/root:/bin/bash\nman:x:6:12::/var/cache/man:/usr/sbin/nologin\n"
    root = tree(tmp_path, {"etc/passwd": passwd, "etc/shadow": "root:*:1::::::\nman:!:1::::::\n"})
    sec.test_root_is_locked(root)
    sec.test_no_account_has_an_empty_password(root)
    sec.test_no_account_has_a_usable_password_hash(root, Fo())
    (root / "etc/shadow").write_text("root:!locked:1::::::\nman:$y$j9T$abc:1::::::\n")
    sec.test_root_is_locked(root)  # '!' before a hash locks it
    with pytest.raises(AssertionError, match=r"usable password hash .*: man \(/etc/shadow\)"):
        sec.test_no_account_has_a_usable_password_hash(root, Fo())
    sec.test_no_account_has_a_usable_password_hash(root, Fo(password_users=["man"]))
    (root / "etc/passwd").write_text(passwd.replace("root:x:", "root::"))
    with pytest.raises(AssertionError, match=r"root \(/etc/passwd\)"):
        sec.test_no_account_has_an_empty_password(root)
    with pytest.raises(AssertionError, match="not locked in /etc/passwd"):
        sec.test_root_is_locked(root)


def test_world_writable_outside_sticky_directories(checks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sec = checks["security"]
    root = tree(tmp_path, {"tmp/scratch": "x", "srv/shared/file": "x"})
    os.chmod(root / "tmp", 0o1777)
    os.chmod(root / "tmp/scratch", 0o666)  # inside a sticky directory
    sec.test_no_world_writable_files_or_directories(root, Fo())
    imagefs.walk.cache_clear()
    os.chmod(root / "srv/shared", 0o777)
    with pytest.raises(AssertionError, match=r"/srv/shared \(0777\)"):
        sec.test_no_world_writable_files_or_directories(root, Fo())
    sec.test_no_world_writable_files_or_directories(root, Fo(world_writable=["/srv/shared"]))


def test_setuid_needs_a_package_its_content_and_a_known_mode(checks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sec = checks["security"]
    me, group = os.getuid(), os.getgid()
    root = tree(
        tmp_path,
        {
            "etc/passwd": f"builder:x:{me}:{group}::/:/bin/sh\n",
            "etc/group": f"builders:x:{group}:\n",
            "usr/bin/tool": "tool\n",
            "var/lib/dpkg/info/tool.list": "/usr/bin/tool\n",
            "var/lib/dpkg/info/tool.md5sums": "6a4c2c5dd09a28daa47e5ab6d0b6a4d1  usr/bin/tool\n",
        },
    )
    os.chmod(root / "usr/bin/tool", 0o4755)
    fo = Fo(setuid=["4755 builder:builders /usr/bin/t*"])
    with pytest.raises(AssertionError, match="its content differs from its package's"):
        sec.test_setuid_and_setgid_files_are_debians(root, fo)
    dpkgdb.database.cache_clear()
    digest = dpkgdb.md5(root / "usr/bin/tool")
    (root / "var/lib/dpkg/info/tool.md5sums").write_text(f"{digest}  usr/bin/tool\n")
    sec.test_setuid_and_setgid_files_are_debians(root, fo)
    with pytest.raises(AssertionError, match=r"/usr/bin/tool \(4755 builder:builders\): not a setuid"):
        sec.test_setuid_and_setgid_files_are_debians(root, Fo())
    (root / "var/lib/dpkg/statoverride").write_text("builder builders 4755 /usr/bin/tool\n")
    dpkgdb.database.cache_clear()
    sec.test_setuid_and_setgid_files_are_debians(root, Fo())  # dpkg-statoverride says so
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/extra").write_text("x")
    os.chmod(root / "usr/local/bin/extra", stat.S_ISUID | 0o755)
    imagefs.walk.cache_clear()
    with pytest.raises(AssertionError, match="extra .*: no package owns it"):
        sec.test_setuid_and_setgid_files_are_debians(root, Fo())


def test_secrets(checks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sec = checks["secrets"]
    passwd = "root:x:0:0:root:/root:/bin/bash\nsvc:x:990:990::/var/lib/svc:/usr/sbin/nologin\n"
    root = tree(tmp_path, {"etc/passwd": passwd, "root/.profile": "", "var/lib/svc/.keep": ""})
    for check in (
        sec.test_no_authorized_keys,
        sec.test_no_shell_or_editor_histories,
        sec.test_no_credential_files,
    ):
        check(root, Fo())
    sec.test_no_private_keys_outside_package_files(root, Fo())
    (root / "var/lib/svc/.ssh").mkdir()
    (root / "var/lib/svc/.ssh/authorized_keys").write_text("ssh-ed25519 AAAA x\n")
    (root / "root/.lesshst").write_text("")
    (root / "root/.docker").mkdir()
    (root / "root/.docker/config.json").write_text("{}")
    (root / "srv/tls").mkdir(parents=True)
    (root / "srv/tls/key.pem").write_text(
        "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"
    )
    imagefs.walk.cache_clear()
    with pytest.raises(AssertionError, match="/var/lib/svc/.ssh/authorized_keys"):
        sec.test_no_authorized_keys(root, Fo())
    with pytest.raises(AssertionError, match="/root/.lesshst"):
        sec.test_no_shell_or_editor_histories(root, Fo())
    with pytest.raises(AssertionError, match="/root/.docker/config.json"):
        sec.test_no_credential_files(root, Fo())
    sec.test_no_credential_files(root, Fo(personal_files=["/root/.docker/*"]))
    with pytest.raises(AssertionError, match="/srv/tls/key.pem"):
        sec.test_no_private_keys_outside_package_files(root, Fo())
    sec.test_no_private_keys_outside_package_files(root, Fo(private_keys=["/srv/tls/*"]))


def test_sshd_settings_and_their_allowance(checks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sec = checks["sshd"]
    root = tree(tmp_path, {"etc/ssh/sshd_config": "PermitRootLogin yes\nPasswordAuthentication no\n"})
    sec.test_sshd_setting_is_safe(root, Fo(), "PasswordAuthentication")
    with pytest.raises(AssertionError, match=r"PermitRootLogin yes \(/etc/ssh/sshd_config:1\)"):
        sec.test_sshd_setting_is_safe(root, Fo(), "PermitRootLogin")
    sec.test_sshd_setting_is_safe(root, Fo(sshd=["PermitRootLogin yes"]), "PermitRootLogin")
    with pytest.raises(AssertionError, match="sshd default"):  # unset: sshd's default is yes
        sec.test_sshd_setting_is_safe(root, Fo(), "KbdInteractiveAuthentication")
    with pytest.raises(pytest.skip.Exception):
        sec.test_sshd_setting_is_safe(root, Fo(vendor="nocloud"), "PermitRootLogin")
