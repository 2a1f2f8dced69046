"""The QEMU argv builder, per architecture and firmware (no QEMU is run)."""

from __future__ import annotations

from pathlib import Path

from overlay.core import arches
from overlay.core.arches import Arch
from overlay.vm import qemu


def argv(arch: Arch, firmware: str, accel: str = "tcg") -> list[str]:
    return qemu.qemu_argv(arch, firmware, accel, qemu.VmFiles(Path("/vm")))


def pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(zip(args, args[1:], strict=False))


def test_amd64_bios_single_threaded_tcg_with_a_vga_card() -> None:
    args = argv(arches.get("amd64"), "bios")
    assert args[0] == "qemu-system-x86_64"
    assert ("-machine", "pc") in pairs(args) and ("-accel", "tcg,thread=single") in pairs(args)
    # GRUB's gfxterm (the official config space) hangs under SeaBIOS without a video card
    assert ("-device", "VGA") in pairs(args)
    assert not any(a.startswith("if=pflash") for a in args)
    assert ("-drive", "if=virtio,format=qcow2,file=/vm/disk.qcow2") in pairs(args)
    assert ("-drive", "if=virtio,format=raw,readonly=on,file=/vm/seed.iso") in pairs(args)


def test_amd64_uefi_uses_a_copy_of_the_vars() -> None:
    args = argv(arches.get("amd64"), "uefi")
    assert ("-machine", "q35") in pairs(args)
    assert "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" in args
    assert f"if=pflash,format=raw,unit=1,file={qemu.VmFiles(Path('/vm')).vars}" in args


def test_secureboot_enforces_smm_and_secure_pflash() -> None:
    args = argv(arches.get("amd64"), "secureboot")
    assert ("-machine", "q35,smm=on") in pairs(args)
    assert ("-global", "driver=cfi.pflash01,property=secure,value=on") in pairs(args)
    assert any("OVMF_CODE_4M.ms.fd" in a for a in args)


def test_arm64_and_ppc64el_have_no_vga_and_multi_threaded_tcg() -> None:
    arm = argv(arches.get("arm64"), "uefi")
    ppc = argv(arches.get("ppc64el"), "slof")
    assert arm[0] == "qemu-system-aarch64" and ("-machine", "virt") in pairs(arm)
    assert ppc[0] == "qemu-system-ppc64" and ppc[ppc.index("-machine") + 1].startswith("pseries,")
    for args in (arm, ppc):
        assert ("-accel", "tcg,thread=multi") in pairs(args)
        assert "VGA" not in args


def test_kvm_uses_the_host_cpu() -> None:
    args = argv(arches.get("amd64"), "bios", accel="kvm")
    assert ("-accel", "kvm") in pairs(args) and ("-cpu", "host") in pairs(args)


def test_the_vcpu_count_is_the_callers() -> None:
    files = qemu.VmFiles(Path("/vm"))
    one = qemu.qemu_argv(arches.get("amd64"), "bios", "tcg", files, smp=1)
    assert ("-smp", "1") in pairs(one)
    assert ("-smp", "2") in pairs(argv(arches.get("amd64"), "bios"))


def test_the_console_is_a_pipe_chardev_with_a_log() -> None:
    # a pipe, never a socket: a full unix socket makes QEMU log a character twice and drop it
    for arch in arches.table().values():
        args = argv(arch, arch.qemu.default_firmware[0])
        assert ("-chardev", "pipe,id=con,path=/vm/console,logfile=/vm/console.log") in pairs(args)
        assert not any(a.startswith("socket,") for a in args)
    # QEMU's pipe chardev reads <path>.in and writes <path>.out: the FIFOs the console makes
    files = qemu.VmFiles(Path("/vm"))
    assert (files.console_in, files.console_out) == (Path("/vm/console.in"), Path("/vm/console.out"))
