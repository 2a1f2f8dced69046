"""The secure-boot blend: the signed chain is on the ESP; under enforced Secure Boot it boots locked down."""

from __future__ import annotations

import pytest

from overlay.core import disk

# Debian's signed shim per architecture; the ESP's removable path comes from fai-overlay's arch table.
SHIM = {"amd64": "/usr/lib/shim/shimx64.efi.signed", "arm64": "/usr/lib/shim/shimaa64.efi.signed"}


@pytest.mark.offline
def test_signed_packages_installed(fo) -> None:  # type: ignore[no-untyped-def]
    for package in ("shim-signed", f"grub-efi-{fo.arch}-signed", "mokutil"):
        assert package in fo.packages(), f"{package} is missing"


@pytest.mark.offline
def test_removable_path_holds_signed_shim(fo, image_root, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    boot_file, shim = fo.arch_spec.efi_boot_file, SHIM[fo.arch]
    esp = next(p for p in disk.partitions(fo.image, runner) if p.is_esp)
    copy = tmp_path / "boot.efi"
    runner.run(
        ["mcopy", "-n", "-i", f"{fo.image}@@{esp.start}", f"::/{boot_file}", str(copy)],
        env={"MTOOLS_SKIP_CHECK": "1"},
    )
    assert copy.read_bytes() == (image_root / shim.lstrip("/")).read_bytes(), (
        f"{boot_file} on the ESP is not Debian's signed shim"
    )


@pytest.mark.live
def test_secure_boot_enabled_and_kernel_locked_down(host, fo) -> None:  # type: ignore[no-untyped-def]
    state = host.run("mokutil --sb-state")
    lockdown = host.file("/sys/kernel/security/lockdown").content_string
    if fo.firmware != "secureboot":
        assert "SecureBoot disabled" in state.stdout + state.stderr, state.stdout
        return
    assert "SecureBoot enabled" in state.stdout, f"mokutil --sb-state: {state.stdout} {state.stderr}"
    assert "[integrity]" in lockdown or "[confidentiality]" in lockdown, f"kernel lockdown: {lockdown!r}"
