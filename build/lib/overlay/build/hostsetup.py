"""The build host: where FAI and apt put things, root, tools, binfmt, and the FAI lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from overlay.core import arches, log
from overlay.core.arches import Arch
from overlay.core.errors import OverlayError
from overlay.core.runner import Runner, require_tool

BINFMT = Path("/proc/sys/fs/binfmt_misc")
BUILD_TOOLS = ("fai-diskimage", "qemu-img", "sfdisk", "mcopy", "mkfs.vfat", "debootstrap", "losetup")


@dataclass(frozen=True)
class HostPaths:
    """Host locations a build uses; unit tests point them into a temporary directory."""

    fai_logs: Path = Path("/var/log/fai/debian")  # FAI's log directories (fai-diskimage --hostname debian)
    shm: Path = Path("/dev/shm")  # bind-mounted into the target: build-only apt settings go here
    lock: Path = Path("/run/lock/fai-overlay.lock")
    fai_lock: Path = Path("/var/run/fai/FAI_INSTALLATION_IN_PROGRESS")
    host_ca: Path = Path("/etc/ssl/certs/ca-certificates.crt")


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise OverlayError(f"{what} needs root", hint=f"run it as root, e.g. sudo fai-overlay {what} ...")


def require_build_tools() -> None:
    for tool in BUILD_TOOLS:
        require_tool(tool)


def ensure_binfmt(arch: Arch, runner: Runner) -> list[str]:
    """Make foreign-architecture binaries runnable through qemu-user. Says what it did."""
    done: list[str] = []
    if arch == arches.host():
        return done
    if not (BINFMT / "status").exists():
        runner.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
        done.append(f"mounted binfmt_misc on {BINFMT}")
    entry = BINFMT / arch.qemu_user
    if not entry.exists() or "enabled" not in entry.read_text():
        require_tool("update-binfmts")
        if not any(Path(f"/usr/bin/{arch.qemu_user}{s}").exists() for s in ("-static", "")):
            raise OverlayError(
                f"building {arch} needs {arch.qemu_user}", hint="apt-get install qemu-user-static"
            )
        runner.run(["update-binfmts", "--enable", arch.qemu_user])
        done.append(f"enabled the {arch.qemu_user} binfmt handler")
    text = entry.read_text() if entry.exists() else ""
    if "enabled" not in text:
        raise OverlayError(
            f"could not enable {arch.qemu_user} in binfmt_misc",
            hint="check 'update-binfmts --display' and the qemu-user-static package",
        )
    for line in done:
        log.info(f"host setup: {line} (needed for {arch} builds)")
    return done


@contextlib.contextmanager
def build_lock(host: HostPaths, wait: bool = True) -> Iterator[None]:
    """One FAI install per host: serialize our builds, refuse when another FAI runs."""
    host.lock.parent.mkdir(parents=True, exist_ok=True)
    with host.lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise OverlayError(
                    "another fai-overlay build is running on this host",
                    hint="FAI allows one installation per host; wait for it",
                ) from None
            log.info("waiting for another fai-overlay build on this host to finish…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _check_fai_lock(host.fai_lock)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_fai_lock(lock: Path) -> None:
    if not lock.exists():
        return
    pid = lock.read_text().strip()
    if pid.isdigit() and Path(f"/proc/{pid}").exists():
        raise OverlayError(
            f"another FAI installation is running (pid {pid})",
            hint="FAI allows one installation per host; wait for it to finish",
        )
    log.warn(f"removing the stale FAI lock {lock} (pid {pid or '?'} is gone)")
    lock.unlink(missing_ok=True)


def wait_for_new_second(fai_logs: Path) -> None:
    """FAI names its log directory by the second and refuses to reuse one."""
    while (fai_logs / time.strftime("install-%Y%m%d_%H%M%S")).exists():
        time.sleep(0.2)


def fai_version(runner: Runner) -> str:
    result = runner.run(["dpkg-query", "--show", "--showformat=${Version}", "fai-client"], check=False)
    return result.stdout.strip() or "unknown"
