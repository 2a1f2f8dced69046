"""Compatibility with the official config space (debian-cloud-images, config_space/13).

Needs a checkout in $FAI_OVERLAY_DCI (skips with that reason otherwise). The
class-list comparison runs upstream's own `build --noop`, which needs
Python >= 3.12, in a virtualenv made for the test from PyPI.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import cli

pytestmark = [pytest.mark.integration, pytest.mark.dci, pytest.mark.builds("dci")]


def _python312() -> str | None:
    candidates = [shutil.which(n) for n in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.1[2-9]*/bin/python3"), reverse=True)
    for c in candidates:
        if c and subprocess.run([c, "-c", "import sys; assert sys.version_info >= (3, 12)"]).returncode == 0:
            return c
    return None


@pytest.fixture(scope="module")
def upstream(dci: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    python = _python312()
    if python is None:
        pytest.skip("debian-cloud-images' CLI needs Python >= 3.12, and none is installed")
    venv = tmp_path_factory.mktemp("dci-venv")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [venv / "bin/pip", "install", "-q", "apache-libcloud", "httpx", "marshmallow<4", "PyYAML"],
        check=True,
    )
    return venv / "bin/python", dci


def upstream_classes(upstream: tuple[Path, Path], tmp: Path, *args: str) -> list[str]:
    python, dci = upstream
    proc = subprocess.run(
        [
            python,
            "-m",
            "debian_cloud_images.cli",
            "build",
            *args,
            "--build-id",
            "fai-overlay",
            "--version",
            "1",
            "--noop",
            "--output",
            str(tmp),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(dci / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if "Would run FAI:" in ln)
    return re.search(r"--class (\S+)", line).group(1).split(",")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("release", "vendor", "arch", "build_type"),
    [
        ("trixie", "genericcloud", "amd64", "official"),
        ("trixie", "genericcloud", "amd64", "dev"),
        ("trixie", "generic", "arm64", "official"),
        ("trixie", "nocloud", "ppc64el", "dev"),
    ],
)
def test_plan_classes_equal_upstream_noop(
    upstream,
    dci: Path,
    tmp_path: Path,
    release: str,
    vendor: str,  # type: ignore[no-untyped-def]
    arch: str,
    build_type: str,
) -> None:
    theirs = upstream_classes(upstream, tmp_path, release, vendor, arch, "--build-type", build_type)
    image = tmp_path / "image.yaml"
    image.write_text(
        f"base: {dci}\nrelease: {release}\nvendor: {vendor}\narch: {arch}\ntype: {build_type}\n"
    )
    proc = cli("plan", image, "--json", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    ours = [c["name"] for c in json.loads(proc.stdout)["classes"]]
    assert ours == theirs
    assert len(ours) == {"official": 224, "dev": 448}[build_type] or vendor != "genericcloud"


def test_build_official_config_space_with_overlay(builder, dci: Path) -> None:  # type: ignore[no-untyped-def]
    built = builder.image("dci")
    data = built.manifest
    assert data["base"]["kind"] == "debian-cloud-images"
    assert Path(data["base"]["config_space"]) == (dci / "config_space/13").resolve()
    assert "jq" in built.package_names() and "linux-image-cloud-amd64" in built.package_names()
    assert data["classes"][-3:] == ["DCI_COMPAT", "HELLO", "LAST"]
    assert data["checks"]["in_build_tests"]["tests"] > 800  # upstream's own tests ran ...
    assert {
        w["waiver"] for w in data["checks"]["waived_tests"]
    } <= {  # ... and only the declared ones failed
        "test_etc.TestEtc.test_group_name[clock]",
        "test_etc.TestEtc.test_passwd_name[dhcpcd]",
    }
    esp = data["checks"]["esp_filled_by_fai_overlay"]
    if esp:  # hosts without vfat: the ESP was filled with mtools
        assert "EFI/BOOT/BOOTX64.EFI" in esp["files"] or "EFI/BOOT/bootx64.efi" in esp["files"]
    git = next(la for la in data["layers"] if la["kind"] == "base").get("git")
    assert git and len(git["commit"]) == 40
