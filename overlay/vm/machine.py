"""One QEMU virtual machine: disk overlay, firmware vars, seed, console, QMP, always stopped."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import commands, log
from overlay.core.arches import Arch
from overlay.core.runner import Process, Runner
from overlay.vm import qemu
from overlay.vm.accel import Accel
from overlay.vm.console import Console
from overlay.vm.qmp import Qmp, host_port
from overlay.vm.seed import Seed, make_seed

# Every QEMU this process runs, so that Ctrl-C in the main thread can stop VMs that worker threads own.
_running: set[Process] = set()
_running_lock = threading.Lock()


def stop_all() -> None:
    """Stop every VM of this process (each by its own PID); their threads then unwind and clean up."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        _stop(process)


def _track(process: Process, on: bool) -> None:
    with _running_lock:
        (_running.add if on else _running.discard)(process)


@dataclass
class Vm:
    arch: Arch
    firmware: str
    accel: Accel
    files: qemu.VmFiles
    argv: list[str]
    console: Console
    qmp: Qmp
    process: Process
    seed: Seed | None
    disk_bytes: int
    timeouts: dict[str, float] = field(default_factory=dict)
    nics: tuple[qemu.Nic, ...] = (qemu.Nic(),)

    def ssh_port(self) -> int:
        return self.qmp.ssh_port()

    def forwards(self) -> list[dict[str, Any]]:
        """Every forward of every NIC: the NIC's index, the guest port and address, the host port."""
        found = self.qmp.forwards()
        out = []
        for index, nic in enumerate(self.nics):
            for forward in (qemu.SSH, *nic.forwards) if index == 0 else nic.forwards:
                port = host_port(found, f"n{index}", forward.port)
                out.append(
                    {"nic": index, "port": forward.port, "address": forward.address, "host_port": port}
                )
        return out


def virtual_size(image: Path, runner: Runner) -> tuple[int, str]:
    import json

    info = json.loads(runner.run(["qemu-img", "info", "--output=json", str(image)]).stdout)
    return int(info["virtual-size"]), str(info["format"])


def _prepare_disk(
    image: Path, arch: Arch, firmware: str, files: qemu.VmFiles, runner: Runner, grow_by: int
) -> int:
    """A larger qcow2 overlay of the image, and a per-VM copy of the firmware vars; returns the disk size."""
    files.dir.mkdir(parents=True, exist_ok=True)
    size, fmt = virtual_size(image, runner)
    runner.run(commands.qcow2_overlay(image.resolve(), fmt, files.disk, str(size + grow_by)))
    fw = arch.firmware(firmware)
    if fw.vars is not None:
        shutil.copyfile(fw.vars, files.vars)
    return size + grow_by


@contextlib.contextmanager
def running(
    image: Path,
    arch: Arch,
    firmware: str,
    accel: Accel,
    workdir: Path,
    runner: Runner,
    *,
    hostname: str,
    with_seed: bool = True,
    trust_host_cas: bool = True,
    seed_extra: Mapping[str, Any] | None = None,
    grow_by: int = 2 << 30,
    smp: int = 2,
    datasource: str = "nocloud",
    injected: Mapping[str, bytes] | None = None,
    nics: Sequence[qemu.Nic] = (qemu.Nic(),),
) -> Iterator[Vm]:
    """Start QEMU on a qcow2 overlay of `image` (never written) and stop it whatever happens."""
    files = qemu.VmFiles(workdir)
    disk_size = _prepare_disk(image, arch, firmware, files, runner, grow_by)
    seed = (
        make_seed(
            workdir,
            runner,
            hostname=hostname,
            trust_host_cas=trust_host_cas,
            extra=seed_extra,
            datasource=datasource,
            injected=injected,
            mac=nics[0].mac if nics else None,
        )
        if with_seed
        else None
    )
    argv = qemu.qemu_argv(arch, firmware, accel.name, files, seed=with_seed, smp=smp, nics=nics)
    (workdir / "qemu.argv").write_text(" ".join(argv) + "\n")
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context((workdir / "qemu.stderr").open("wb"))
        console = Console(files.console_in, files.console_out, files.console_log)
        stack.callback(console.close)
        process = runner.spawn(argv, stdout=stderr)
        _track(process, True)
        stack.callback(_track, process, False)
        stack.callback(_stop, process)
        qmp = Qmp(files.qmp_sock)  # QEMU opens its chardevs in order: the console's before QMP's
        stack.callback(qmp.close)
        log.info(f"QEMU pid {process.pid}: {arch} {firmware}, {accel.name.upper()} ({accel.reason})")
        yield Vm(
            arch,
            firmware,
            accel,
            files,
            argv,
            console,
            qmp,
            process,
            seed,
            disk_size,
            arch.timeouts(accel.name),
            tuple(nics),
        )


def _stop(process: Process) -> None:
    if process.poll() is None:
        process.stop(grace=10)
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
