"""Pure QEMU command builders, per architecture and firmware (data/machines.yaml)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from overlay.config import Arch
from overlay.errors import OverlayError


@functools.cache
def machines() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        resources.files("overlay").joinpath("data/machines.yaml").read_text()
    )
    return data


def arch_info(arch: Arch) -> dict[str, Any]:
    info: dict[str, Any] = machines()["arches"][arch.value]
    return info


def firmwares(arch: Arch) -> list[str]:
    return list(arch_info(arch)["firmware"])


def default_firmwares(arch: Arch) -> list[str]:
    return list(arch_info(arch)["default_firmware"])


def check_firmware(arch: Arch, firmware: str) -> None:
    if firmware not in arch_info(arch)["firmware"]:
        raise OverlayError(
            f"{arch} cannot boot with firmware '{firmware}'",
            hint=f"choose one of: {', '.join(firmwares(arch))}",
        )


def timeouts(arch: Arch, accel: str) -> dict[str, float]:
    base: dict[str, float] = dict(arch_info(arch)["timeouts"])
    if accel == "kvm":
        factor = float(machines()["kvm_speedup"])
        return {k: v / factor for k, v in base.items()}
    return base


@dataclass(frozen=True)
class VmFiles:
    """Everything a VM reads or writes, in its own directory."""

    dir: Path

    @property
    def disk(self) -> Path:
        return self.dir / "disk.qcow2"

    @property
    def seed(self) -> Path:
        return self.dir / "seed.iso"

    @property
    def vars(self) -> Path:
        return self.dir / "efivars.fd"

    @property
    def console_sock(self) -> Path:
        return self.dir / "console.sock"

    @property
    def console_log(self) -> Path:
        return self.dir / "console.log"

    @property
    def qmp_sock(self) -> Path:
        return self.dir / "qmp.sock"


def firmware_files(arch: Arch, firmware: str) -> dict[str, str] | None:
    check_firmware(arch, firmware)
    files: dict[str, str] | None = arch_info(arch)["firmware"][firmware]
    return files


def qemu_argv(
    arch: Arch,
    firmware: str,
    accel: str,
    files: VmFiles,
    *,
    memory: int = 2048,
    smp: int = 2,
    seed: bool = True,
) -> list[str]:
    info = arch_info(arch)
    machine = info["machine"][firmware]
    argv = [
        info["qemu"],
        "-machine",
        machine,
        "-accel",
        "kvm" if accel == "kvm" else f"tcg,thread={info['tcg_thread']}",
    ]
    cpu = info["cpu"]["kvm" if accel == "kvm" else "tcg"]
    if cpu:
        argv += ["-cpu", cpu]
    argv += ["-m", str(memory), "-smp", str(smp), "-nodefaults", "-display", "none", "-no-user-config"]
    if info.get("display_device"):
        argv += ["-device", info["display_device"]]
    fw = firmware_files(arch, firmware)
    if fw is not None:
        if firmware == "secureboot":
            argv += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        argv += [
            "-drive",
            f"if=pflash,format=raw,unit=0,readonly=on,file={fw['code']}",
            "-drive",
            f"if=pflash,format=raw,unit=1,file={files.vars}",
        ]
    argv += ["-drive", f"if=virtio,format=qcow2,file={files.disk}"]
    if seed:
        argv += ["-drive", f"if=virtio,format=raw,readonly=on,file={files.seed}"]
    argv += [
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:0-:22", "-device", "virtio-net-pci,netdev=n0",
        "-device", "virtio-rng-pci",
        "-chardev", f"socket,id=con,path={files.console_sock},server=on,wait=on,logfile={files.console_log}",
        "-serial", "chardev:con",
        "-qmp", f"unix:{files.qmp_sock},server=on,wait=off",
    ]  # fmt: skip
    return argv


def kvm_smoke_argv(arch: Arch, kernel: Path, log: Path) -> list[str]:
    """Start the image's own kernel under KVM; success is 'Linux version' on the console."""
    info = arch_info(arch)
    machine = info["machine"].get("uefi") or next(iter(info["machine"].values()))
    console = info["console"]
    return [
        info["qemu"], "-machine", machine.split(",")[0], "-accel", "kvm",
        "-cpu", info["cpu"]["kvm"] or "host",
        "-m", "512", "-nodefaults", "-display", "none", "-no-user-config", "-no-reboot",
        "-kernel", str(kernel), "-append", f"console={console} panic=-1",
        "-serial", f"file:{log}",
    ]  # fmt: skip
