"""Verification (issue 3): offline checks and live boots, amd64 BIOS and UEFI, arm64, ppc64el."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.support import cli

pytestmark = [pytest.mark.integration, pytest.mark.builds("default", "arm64", "ppc64el")]


def junit_counts(path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    return len(cases), len(failed)


@pytest.fixture(scope="module")
def default(builder):  # type: ignore[no-untyped-def]
    return builder.image("default")


def test_offline_checks_pass_and_overlay_tests_run(default) -> None:  # type: ignore[no-untyped-def]
    proc = cli("test", default.raw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    junit = default.out_dir / f"{default.name}.test.junit.xml"
    total, failed = junit_counts(junit)
    assert failed == 0 and total >= 40
    names = {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")}
    assert "test_script_installed_with_its_mode" in names  # the hello overlay's own offline test
    assert "test_no_ssh_host_keys" in names and "test_grub_cfg_names_no_build_host_device" in names
    summary = (default.out_dir / f"{default.name}.test.txt").read_text()
    assert summary.startswith(f"offline checks of {default.name}: ") and " 0 failed" in summary


def test_offline_checks_work_on_qcow2(default) -> None:  # type: ignore[no-untyped-def]
    proc = cli("test", default.qcow2)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_boot_amd64_bios_and_uefi(default, artifacts) -> None:  # type: ignore[no-untyped-def]
    proc = cli("boot", default.qcow2)
    (artifacts / "builds").mkdir(exist_ok=True)
    (artifacts / "builds" / "default-boot.stderr.txt").write_text(proc.stderr)
    for console in default.out_dir.glob(f"{default.name}.console-*.log"):  # later boots overwrite them
        shutil.copyfile(console, artifacts / "builds" / f"default-boot.{console.name.split('.')[-2]}.log")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "falling back to TCG" in proc.stderr or "KVM smoke test passed" in proc.stderr
    timings = json.loads((default.out_dir / f"{default.name}.boot.json").read_text())
    assert set(timings) == {"bios", "uefi"} and all(t["ok"] for t in timings.values())
    total, failed = junit_counts(default.out_dir / f"{default.name}.boot.junit.xml")
    assert failed == 0 and total >= 2 * 12
    for fw in ("bios", "uefi"):
        console = (default.out_dir / f"{default.name}.console-{fw}.log").read_text(errors="replace")
        assert "login:" in console  # the smoke test of issue 2: a login prompt on the serial console
        assert "Cloud-init v." in console and "finished at" in console
    junit = (default.out_dir / f"{default.name}.boot.junit.xml").read_text()
    assert "test_script_runs" in junit  # the hello overlay's live test ran


@pytest.mark.parametrize("arch", ["arm64", "ppc64el"])
def test_cross_architecture_image_checked_and_booted(builder, arch: str) -> None:  # type: ignore[no-untyped-def]
    """arm64 (trixie generic) and ppc64el (forky generic, the mirror lacks trixie's) built under qemu-user,
    checked offline with host tools and booted under TCG. (`build --test --boot` as one command is
    tests/integration/test_nocloud.py's.)"""
    built = builder.image(arch)
    manifest = built.manifest
    assert manifest["image"]["arch"] == arch
    kernel = {"arm64": "linux-image-arm64", "ppc64el": "linux-image-powerpc64le"}[arch]
    assert kernel in built.package_names()
    proc = cli("test", built.raw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert junit_counts(built.out_dir / f"{built.name}.test.junit.xml")[1] == 0
    proc = cli("boot", built.qcow2)
    (builder.artifacts / "builds" / f"{arch}-boot.stderr.txt").write_text(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    boot = json.loads((built.out_dir / f"{built.name}.boot.json").read_text())
    assert boot and all(t["ok"] and t["accel"] == "tcg" for t in boot.values())
