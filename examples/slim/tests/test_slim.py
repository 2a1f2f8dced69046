"""The slim blend's own checks."""

from __future__ import annotations

from pathlib import Path

import pytest

GONE = [
    "vim",
    "man-db",
    "curl",
    "unattended-upgrades",
    "apparmor",
    "netplan.io",
    "qemu-utils",
    "cloud-initramfs-growroot",
    "less",
    "whiptail",
]


@pytest.mark.offline
@pytest.mark.parametrize("package", GONE)
def test_package_left_out(fo, package: str) -> None:  # type: ignore[no-untyped-def]
    assert package not in fo.packages(), f"{package} is in the slim image"


@pytest.mark.offline
def test_no_docs_man_pages_or_translations(image_root: Path) -> None:
    docs = [p for p in (image_root / "usr/share/doc").rglob("*") if p.is_file() and p.name != "copyright"]
    assert not docs, f"documentation left: {docs[:5]}"
    for rel in ("usr/share/man", "usr/share/info", "usr/share/locale"):
        path = image_root / rel
        files = (
            [p for p in path.rglob("*") if p.is_file() and p.name != "locale.alias"] if path.exists() else []
        )
        assert not files, f"/{rel} still has files: {files[:5]}"


@pytest.mark.offline
def test_copyright_files_kept(image_root: Path) -> None:
    assert (image_root / "usr/share/doc/libc6/copyright").is_file()


@pytest.mark.offline
def test_only_c_utf8_locale(image_root: Path) -> None:
    archive = image_root / "usr/lib/locale/locale-archive"
    assert not archive.exists(), "compiled locales (locale-archive) are in the slim image"
    assert (image_root / "usr/lib/locale/C.utf8").is_dir()


@pytest.mark.offline
def test_cloud_kernel_without_recommends(fo) -> None:  # type: ignore[no-untyped-def]
    assert any(p.startswith("linux-image-cloud-") or p == "linux-image-powerpc64le" for p in fo.packages())
    assert "firmware-linux-free" not in fo.packages()


@pytest.mark.live
def test_locale_is_c_utf8(host) -> None:  # type: ignore[no-untyped-def]
    assert "C.utf8" in host.check_output("locale -a").split()


@pytest.mark.live
def test_growpart_grew_the_disk(host) -> None:  # type: ignore[no-untyped-def]
    log = host.file("/var/log/cloud-init.log").content_string
    assert "growpart" in log.lower() and "resize" in log.lower()
