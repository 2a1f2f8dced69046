"""Deliberately broken images must fail `test` or `boot` with a message naming the problem."""

from __future__ import annotations

import pytest

from tests.support import EXAMPLES, FIXTURES, cli, qemu_pids

pytestmark = pytest.mark.integration


def broken(builder, overlay: str, *more: str):  # type: ignore[no-untyped-def]
    args = ["--overlay", str(FIXTURES / "overlays" / overlay)]
    for extra in more:
        args += ["--overlay", str(FIXTURES / "overlays" / extra)]
    return builder.build(EXAMPLES / "default.yaml", *args, "--format", "raw", key=f"broken-{overlay}")


def test_leftover_ssh_host_key(builder) -> None:  # type: ignore[no-untyped-def]
    image = broken(builder, "leaves-ssh-key")
    proc = cli("test", image.raw)
    assert proc.returncode == 1
    assert "FAILED checks.test_offline_tree.test_no_ssh_host_keys" in proc.stderr
    log = (image.out_dir / f"{image.name}.test.log").read_text()
    assert "ssh host keys were baked into the image" in log and "ssh_host_ed25519_key" in log


def test_source_enabled_twice_and_failing_overlay_tests(builder) -> None:  # type: ignore[no-untyped-def]
    image = broken(builder, "source-twice", "failing-tests")
    proc = cli("test", image.raw)
    assert proc.returncode == 1
    assert "FAILED checks.test_offline_apt.test_no_target_configured_twice" in proc.stderr
    log = (image.out_dir / f"{image.name}.test.log").read_text()
    assert "apt sources configure a target twice" in log
    assert "test_failing.test_offline_marker_file" in proc.stderr  # the overlay's own test ran and failed
    # live: the image boots, but the overlay's live test fails the run
    before = qemu_pids()
    proc = cli("boot", image.raw, "--firmware", "bios")
    assert proc.returncode == 1
    assert "test_live_marker_service" in proc.stderr and "live checks failed" in proc.stderr
    assert qemu_pids() == before


def test_grub_cfg_names_loop_device(builder) -> None:  # type: ignore[no-untyped-def]
    image = broken(builder, "grub-loop-device")
    proc = cli("test", image.raw)
    assert proc.returncode == 1
    assert "FAILED checks.test_offline_boot.test_grub_cfg_names_no_build_host_device" in proc.stderr
    log = (image.out_dir / f"{image.name}.test.log").read_text()
    assert "grub.cfg names devices of the build host" in log and "loop0p1" in log


def test_broken_fstab_fails_to_boot(builder) -> None:  # type: ignore[no-untyped-def]
    image = broken(builder, "broken-fstab")
    before = qemu_pids()
    proc = cli("boot", image.raw, "--firmware", "bios")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "boot failed during userspace" in last and "emergency mode" in last
    assert qemu_pids() == before
