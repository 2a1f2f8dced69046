"""Pure QEMU command builders, per architecture and firmware (the arch table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from overlay.core.arches import Arch


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
    def console_pipe(self) -> Path:
        """QEMU's pipe chardev base name: it writes to <this>.out and reads <this>.in."""
        return self.dir / "console"

    @property
    def console_out(self) -> Path:
        return self.console_pipe.with_suffix(".out")

    @property
    def console_in(self) -> Path:
        return self.console_pipe.with_suffix(".in")

    @property
    def console_log(self) -> Path:
        return self.dir / "console.log"

    @property
    def qmp_sock(self) -> Path:
        return self.dir / "qmp.sock"


@dataclass(frozen=True)
class Forward:
    """A TCP port forwarded from the host's 127.0.0.1 (QEMU picks the host port) to the guest."""

    port: int
    address: str = ""  # the guest address; "" is the address the guest gets by DHCP

    def __str__(self) -> str:
        return f"{self.address}:{self.port}" if self.address else str(self.port)


SSH = Forward(22)


@dataclass(frozen=True)
class Nic:
    """A virtio NIC on its own user-mode (slirp) network: its own NAT, DHCP and forwards.

    The first NIC always forwards ssh. `net` is the network (slirp's default is
    10.0.2.0/24, its host side .2); `mac` the NIC's address (QEMU's default
    52:54:00:12:34:56 for the first).
    """

    forwards: tuple[Forward, ...] = ()
    net: str | None = None
    mac: str | None = None


def netdev(index: int, nic: Nic) -> str:
    """The -netdev value of NIC `index` (its id is n<index>)."""
    forwards = (SSH, *nic.forwards) if index == 0 else nic.forwards
    options = [f"user,id=n{index}"]
    if nic.net:
        options.append(f"net={nic.net}")
    options += [f"hostfwd=tcp:127.0.0.1:0-{f.address}:{f.port}" for f in forwards]
    return ",".join(options)


def nic_argv(nics: Sequence[Nic]) -> list[str]:
    argv: list[str] = []
    for index, nic in enumerate(nics):
        device = f"virtio-net-pci,netdev=n{index}" + (f",mac={nic.mac}" if nic.mac else "")
        argv += ["-netdev", netdev(index, nic), "-device", device]
    return argv


def qemu_argv(
    arch: Arch,
    firmware: str,
    accel: str,
    files: VmFiles,
    *,
    memory: int = 2048,
    smp: int = 2,
    seed: bool = True,
    nics: Sequence[Nic] = (Nic(),),
) -> list[str]:
    fw = arch.firmware(firmware)
    q = arch.qemu
    argv = [
        q.binary,
        "-machine",
        fw.machine,
        "-accel",
        "kvm" if accel == "kvm" else f"tcg,thread={q.tcg_thread}",
    ]
    cpu = q.cpu_kvm if accel == "kvm" else q.cpu_tcg
    if cpu:
        argv += ["-cpu", cpu]
    argv += ["-m", str(memory), "-smp", str(smp), "-nodefaults", "-display", "none", "-no-user-config"]
    for device in q.devices:
        argv += ["-device", device]
    if fw.code is not None:
        if fw.secure:
            argv += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        argv += [
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={fw.code}",
            "-drive", f"if=pflash,format=raw,unit=1,file={files.vars}",
        ]  # fmt: skip
    argv += ["-drive", f"if=virtio,format=qcow2,file={files.disk}"]
    if seed:
        argv += ["-drive", f"if=virtio,format=raw,readonly=on,file={files.seed}"]
    argv += nic_argv(nics or (Nic(),))
    argv += [
        "-device", "virtio-rng-pci",
        # a pipe, never a socket: a unix socket holds only a few hundred 1-byte writes, and when it
        # is full QEMU logs a character, retries it (logging it again) and drops it after 4 tries
        "-chardev", f"pipe,id=con,path={files.console_pipe},logfile={files.console_log}",
        "-serial", "chardev:con",
        "-qmp", f"unix:{files.qmp_sock},server=on,wait=off",
    ]  # fmt: skip
    return argv


def kvm_smoke_argv(arch: Arch, kernel: Path, log: Path) -> list[str]:
    """Start the image's own kernel under KVM; success is 'Linux version' on the console."""
    machine = next(iter(arch.qemu.firmware.values())).machine.split(",")[0]
    return [
        arch.qemu.binary, "-machine", machine, "-accel", "kvm",
        "-cpu", arch.qemu.cpu_kvm or "host",
        "-m", "512", "-nodefaults", "-display", "none", "-no-user-config", "-no-reboot",
        "-kernel", str(kernel), "-append", f"console={arch.console} panic=-1",
        "-serial", f"file:{log}",
    ]  # fmt: skip
