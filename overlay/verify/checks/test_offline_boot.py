"""Boot files, GRUB platforms, the ESP, fstab and the kernel command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from overlay.core import commands, disk

pytestmark = pytest.mark.offline


def _linux_lines(image_root: Path) -> list[str]:
    text = (image_root / "boot/grub/grub.cfg").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("linux")]


def test_kernel_initrd_and_grub_cfg_exist(image_root: Path) -> None:
    boot = image_root / "boot"
    assert sorted(boot.glob("vmlinu[xz]-*")), "no kernel (/boot/vmlinuz-*) in the image"
    assert sorted(boot.glob("initrd.img-*")), "no initrd (/boot/initrd.img-*) in the image"
    assert (boot / "grub/grub.cfg").is_file(), "no /boot/grub/grub.cfg in the image"


def test_grub_platform_directories(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    missing = [p for p in fo.arch_spec.grub_platforms if not (image_root / "boot/grub" / p).is_dir()]
    assert not missing, f"GRUB for {fo.arch} needs /boot/grub/{{{','.join(missing)}}}, which are missing"


def test_grub_cfg_names_no_build_host_device(image_root: Path) -> None:
    text = (image_root / "boot/grub/grub.cfg").read_text()
    hits = sorted(set(re.findall(r"/dev/(?:loop\d+\S*|nbd\d+\S*|mapper/\S+)", text)))
    assert not hits, f"grub.cfg names devices of the build host, so the image cannot boot: {', '.join(hits)}"
    roots = {m for ln in _linux_lines(image_root) for m in re.findall(r"\broot=(\S+)", ln)}
    bad = sorted(r for r in roots if not r.startswith(("PARTUUID=", "UUID=", "LABEL=", "PARTLABEL=")))
    assert not bad, f"grub.cfg passes root= by device name: {', '.join(bad)}"


def test_serial_console_on_kernel_command_line(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    console = fo.arch_spec.console
    lines = _linux_lines(image_root)
    assert lines, "grub.cfg has no linux lines"
    missing = [ln for ln in lines if not re.search(rf"\bconsole={console}\b", ln)]
    assert not missing, f"no console={console} on the kernel command line for {fo.arch}: {missing[0][:160]}"


def test_fstab_mounts_root_by_partuuid_with_growfs(image_root: Path, fo, runner) -> None:  # type: ignore[no-untyped-def]
    entries = [
        ln.split()
        for ln in (image_root / "etc/fstab").read_text().splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    roots = [e for e in entries if len(e) >= 4 and e[1] == "/"]
    assert len(roots) == 1, "/etc/fstab must mount / exactly once"
    source, options = roots[0][0], roots[0][3].split(",")
    assert source.startswith("PARTUUID="), f"/ is mounted by {source}, not by PARTUUID"
    assert "x-systemd.growfs" in options, "/ lacks x-systemd.growfs, so it will not grow on first boot"
    uuids = {p.uuid for p in disk.partitions(fo.image, runner)}
    assert source.removeprefix("PARTUUID=").upper() in uuids, f"{source} is not a partition of this image"


def test_esp_holds_the_boot_loader(fo, runner) -> None:  # type: ignore[no-untyped-def]
    wanted = fo.arch_spec.efi_boot_file
    if wanted is None:
        pytest.skip(f"{fo.arch} does not boot through UEFI")
    esp = [p for p in disk.partitions(fo.image, runner) if p.is_esp]
    assert esp, "the image has no EFI system partition"
    listing = runner.run(commands.mdir(fo.image, esp[0].start), check=False, env={"MTOOLS_SKIP_CHECK": "1"})
    files = {ln.strip().removeprefix("::/").upper() for ln in listing.stdout.splitlines()}
    assert wanted.upper() in files, (
        f"the ESP lacks {wanted}: UEFI firmware would find nothing to boot (ESP holds {len(files)} entries)"
    )
