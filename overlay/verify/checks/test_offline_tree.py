"""The image's tree holds nothing of the build host or of the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from overlay.core import arches
from overlay.verify.target import expectations

pytestmark = pytest.mark.offline


@pytest.mark.parametrize("rel", expectations()["empty_dirs"])
def test_directory_is_empty(image_root: Path, rel: str) -> None:
    path = image_root / rel
    assert path.is_dir(), f"/{rel} is missing from the image"
    left = sorted(p.name for p in path.iterdir())
    assert not left, f"/{rel} should be empty in an image, but holds: {', '.join(left[:10])}"


def test_no_ssh_host_keys(image_root: Path) -> None:
    keys = sorted(p.name for p in (image_root / "etc/ssh").glob("ssh_host_*"))
    assert not keys, (
        f"ssh host keys were baked into the image (every VM would share them): {', '.join(keys)}"
    )


def test_machine_id_is_not_set(image_root: Path) -> None:
    content = (image_root / "etc/machine-id").read_text()
    assert content.strip() in ("", "uninitialized"), (
        f"/etc/machine-id holds '{content.strip()}': every VM would share the build's machine id"
    )


def test_var_log_holds_only_allowed_entries(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = set(fo.expect["var_log"]) | set(fo.expect.get("allow", {}).get("var_log", []))
    extra = sorted(p.name for p in (image_root / "var/log").iterdir() if p.name not in allowed)
    assert not extra, (
        f"/var/log has entries that are not on the allow-list (build logs?): {', '.join(extra)}"
    )


@pytest.mark.parametrize("rel", expectations()["absent"])
def test_build_leftover_absent(image_root: Path, rel: str) -> None:
    assert not (image_root / rel).exists() and not (image_root / rel).is_symlink(), (
        f"/{rel} should not be in the image (a leftover of the build)"
    )


def test_resolv_conf_is_not_the_build_hosts(image_root: Path) -> None:
    path = image_root / "etc/resolv.conf"
    assert not path.exists() or path.is_symlink(), (
        "/etc/resolv.conf is a regular file: probably the build host's copy"
    )


def test_hostname_is_empty(image_root: Path) -> None:
    path = image_root / "etc/hostname"
    content = path.read_text().strip() if path.exists() else ""
    assert content in ("", "localhost"), f"/etc/hostname is '{content}', the build's name would stick"


def test_no_apt_proxy_settings(image_root: Path) -> None:
    hits = []
    for conf in [image_root / "etc/apt/apt.conf", *sorted((image_root / "etc/apt/apt.conf.d").glob("*"))]:
        if conf.is_file() and "proxy" in conf.read_text(errors="replace").lower():
            hits.append(conf.name)
    assert not hits, f"apt proxy settings from the build are in the image: {', '.join(hits)}"


# What a cross build could leave: any qemu-*-static, and each architecture's qemu-user binary.
QEMU_USER = re.compile(rf"^qemu-.*-static$|^(?:{'|'.join(map(re.escape, arches.qemu_user_names()))})$")


def test_no_leftover_qemu_user_binaries(image_root: Path) -> None:
    found = sorted(
        p.name
        for d in ("usr/bin", "usr/libexec/qemu-binfmt")
        if (image_root / d).is_dir()
        for p in (image_root / d).iterdir()
        if QEMU_USER.match(p.name)
    )
    assert not found, f"qemu-user binaries from a cross build are left in the image: {', '.join(found)}"
