"""The per-architecture table (overlay/data/arches.yaml), typed and validated.

Every fact that differs between architectures lives there: host and qemu-user
names, partition type, GRUB platforms, the EFI boot file, the console, kernel
packages and how QEMU boots it. Code asks this module; nothing else names an
architecture.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.core import resources, yamlsrc
from overlay.core.errors import OverlayError

TABLE = "arches.yaml"
PHASES = ("firmware", "kernel", "userspace")


@dataclass(frozen=True)
class Firmware:
    name: str
    machine: str
    code: Path | None = None  # pflash code (UEFI); None: the machine's built-in firmware
    vars: Path | None = None  # pflash variables template, copied per VM
    secure: bool = False  # Secure Boot: secure pflash and SMM


@dataclass(frozen=True)
class Qemu:
    binary: str
    package: str
    cpu_tcg: str | None
    cpu_kvm: str | None
    tcg_thread: str
    devices: tuple[str, ...]
    timeouts: dict[str, float]
    firmware: dict[str, Firmware]
    default_firmware: tuple[str, ...]


@dataclass(frozen=True)
class Arch:
    name: str
    uname: str
    qemu_user: str
    root_type: str
    grub_platforms: tuple[str, ...]
    efi_boot_file: str | None
    console: str
    kernel: dict[str, str]  # vendor -> kernel package
    qemu: Qemu

    def __str__(self) -> str:
        return self.name

    @property
    def uefi(self) -> bool:
        return self.efi_boot_file is not None

    def firmware(self, name: str) -> Firmware:
        if name not in self.qemu.firmware:
            raise OverlayError(
                f"{self.name} cannot boot with firmware '{name}'",
                hint=f"choose one of: {', '.join(self.qemu.firmware)}",
            )
        return self.qemu.firmware[name]

    def timeouts(self, accel: str) -> dict[str, float]:
        factor = kvm_speedup() if accel == "kvm" else 1.0
        return {k: v / factor for k, v in self.qemu.timeouts.items()}


class _Reader:
    """Typed access to one table entry; a wrong value names the file and line."""

    def __init__(self, doc: yamlsrc.Doc, key: yamlsrc.Key) -> None:
        self.doc, self.key = doc, key

    def raw(self, *sub: str | int) -> Any:
        value: Any = self.doc.data
        for part in (*self.key, *sub):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def text(self, *sub: str, optional: bool = False) -> Any:
        value = self.raw(*sub)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.doc.error(
                (*self.key, *sub), f"{'.'.join(map(str, (*self.key, *sub)))}: expected a string"
            )
        return value

    def strs(self, *sub: str) -> tuple[str, ...]:
        value = self.raw(*sub)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.doc.error(
                (*self.key, *sub), f"{'.'.join(map(str, (*self.key, *sub)))}: expected a list"
            )
        return tuple(value)

    def mapping(self, *sub: str) -> dict[str, Any]:
        value = self.raw(*sub)
        if not isinstance(value, dict) or not value:
            raise self.doc.error(
                (*self.key, *sub), f"{'.'.join(map(str, (*self.key, *sub)))}: expected a mapping"
            )
        return value


def _firmware(r: _Reader, name: str) -> Firmware:
    fw = _Reader(r.doc, (*r.key, "qemu", "firmware", name))
    code, vars_ = fw.text("code", optional=True), fw.text("vars", optional=True)
    if (code is None) != (vars_ is None):
        raise r.doc.error(fw.key, f"firmware {name} needs both code and vars, or neither")
    return Firmware(
        name,
        fw.text("machine"),
        Path(code) if code else None,
        Path(vars_) if vars_ else None,
        bool(fw.raw("secure")),
    )


def _qemu(r: _Reader) -> Qemu:
    firmware = {name: _firmware(r, name) for name in r.mapping("qemu", "firmware")}
    defaults = r.strs("qemu", "default_firmware")
    unknown = [f for f in defaults if f not in firmware]
    if unknown:
        raise r.doc.error((*r.key, "qemu", "default_firmware"), f"unknown default firmware {unknown[0]}")
    timeouts = r.mapping("qemu", "timeouts")
    if sorted(timeouts) != sorted(PHASES) or not all(isinstance(v, int) for v in timeouts.values()):
        raise r.doc.error((*r.key, "qemu", "timeouts"), f"timeouts needs seconds for {', '.join(PHASES)}")
    thread = r.text("qemu", "tcg_thread")
    if thread not in ("single", "multi"):
        raise r.doc.error((*r.key, "qemu", "tcg_thread"), "tcg_thread is single or multi")
    return Qemu(
        binary=r.text("qemu", "binary"),
        package=r.text("qemu", "package"),
        cpu_tcg=r.text("qemu", "cpu", "tcg", optional=True),
        cpu_kvm=r.text("qemu", "cpu", "kvm", optional=True),
        tcg_thread=thread,
        devices=r.strs("qemu", "devices"),
        timeouts={k: float(v) for k, v in timeouts.items()},
        firmware=firmware,
        default_firmware=defaults,
    )


def _arch(doc: yamlsrc.Doc, name: str) -> Arch:
    r = _Reader(doc, ("arches", name))
    return Arch(
        name=name,
        uname=r.text("uname"),
        qemu_user=r.text("qemu_user"),
        root_type=r.text("root_type").upper(),
        grub_platforms=r.strs("grub_platforms"),
        efi_boot_file=r.text("efi_boot_file", optional=True),
        console=r.text("console"),
        kernel={str(k): str(v) for k, v in r.mapping("kernel").items()},
        qemu=_qemu(r),
    )


@functools.cache
def table() -> dict[str, Arch]:
    doc = resources.data_yaml(TABLE)
    entries = doc.data.get("arches") if isinstance(doc.data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise doc.error(("arches",), "expected a mapping of architectures")
    return {str(name): _arch(doc, str(name)) for name in entries}


@functools.cache
def kvm_speedup() -> float:
    return float(resources.data_yaml(TABLE).data.get("kvm_speedup", 1))


def names() -> list[str]:
    return list(table())


def get(name: str) -> Arch:
    """The architecture called `name`, or an error listing the known ones."""
    try:
        return table()[name]
    except KeyError:
        raise OverlayError(
            f"architecture '{name}' is not one of: {', '.join(names())}",
            hint="add it to overlay/data/arches.yaml (see docs/architecture.md)",
        ) from None


def host() -> Arch | None:
    """The build host's own architecture, if it is one we know."""
    machine = platform.machine()
    return next((a for a in table().values() if a.uname == machine), None)


def root_types() -> dict[str, Arch]:
    return {a.root_type: a for a in table().values()}


def qemu_user_names() -> list[str]:
    return [a.qemu_user for a in table().values()]
