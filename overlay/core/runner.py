"""The only module that starts processes.

Command builders elsewhere are pure functions returning argv lists; they hand
them to a Runner. Tests inject a fake Runner and assert the exact argv.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import sh

from overlay.core import arches, log
from overlay.core.errors import BuildFailed, OverlayError

Argv = Sequence[str]

# Debian package that provides each host tool, for the "install it" hint.
TOOL_PACKAGES: dict[str, str] = {
    "fai-diskimage": "fai-server fai-setup-storage",
    "qemu-img": "qemu-utils",
    "mcopy": "mtools",
    "mdir": "mtools",
    "mkfs.vfat": "dosfstools",
    "sfdisk": "fdisk",
    "partx": "util-linux",
    "losetup": "mount",
    "cloud-localds": "cloud-image-utils",
    "genisoimage": "genisoimage",
    "ssh-keygen": "openssh-client",
    "ssh": "openssh-client",
    "xz": "xz-utils",
    "update-binfmts": "binfmt-support",
    "dpkg-query": "dpkg",
    "debootstrap": "debootstrap",
    "openssl": "openssl",
    "chromium": "chromium",
}


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""


def base_env(extra: Mapping[str, str] | None = None, *, inherit: bool = True) -> dict[str, str]:
    """The environment of a child: ours (or nothing, with inherit=False), C.UTF-8, sbin on PATH, `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} if inherit else {}
    env["LC_ALL"] = "C.UTF-8"
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    for sbin in ("/usr/sbin", "/sbin"):
        if sbin not in env["PATH"].split(":"):
            env["PATH"] += f":{sbin}"
    if extra:
        env.update(extra)
    return env


def tool_package(name: str) -> str:
    """The Debian package that provides a host tool (QEMU system emulators: from the arch table)."""
    qemu = {a.qemu.binary: a.qemu.package for a in arches.table().values()}
    return TOOL_PACKAGES.get(name) or qemu.get(name) or name


def require_tool(name: str) -> str:
    path = shutil.which(name, path=base_env()["PATH"])
    if path is None:
        pkg = tool_package(name)
        raise OverlayError(
            f"required host tool '{name}' is not installed",
            hint=f"apt-get install {pkg}, or run ./setup.sh",
        )
    return path


class Process:
    """A started background process (QEMU), stopped only by its own PID."""

    def __init__(self, popen: subprocess.Popen[bytes], argv: Argv) -> None:
        self.popen = popen
        self.argv = tuple(argv)
        self.pid = popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM our process group, then SIGKILL after `grace` seconds."""
        if self.popen.poll() is not None:
            return self.popen.returncode
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            try:
                return self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return self.popen.wait()


class Runner:
    """Runs commands. Subclass or replace in tests."""

    def run(
        self,
        argv: Argv,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
        input: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        argv = [str(a) for a in argv]
        log.debug(shlex.join(argv))
        cmd = sh.Command(argv[0] if "/" in argv[0] else require_tool(argv[0]))
        try:
            proc = cmd(
                *argv[1:],
                _env=base_env(env),
                _cwd=str(cwd) if cwd else None,
                _in=input,
                _timeout=timeout,
                _ok_code=list(range(256)),
                _tty_out=False,
                _return_cmd=True,
                _decode_errors="replace",
            )
        except sh.TimeoutException as exc:
            raise BuildFailed(f"command timed out after {timeout}s: {shlex.join(argv)}") from exc
        result = Result(
            tuple(argv),
            proc.exit_code,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else "no output"
            raise BuildFailed(
                f"command failed with exit code {result.returncode}: {shlex.join(argv)}: {last}"
            )
        return result

    def stream(
        self,
        argv: Argv,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_file: IO[str] | None = None,
        on_line: Callable[[str], None] | None = None,
        grace: float = 120.0,
        inherit: bool = True,
    ) -> int:
        """Run a long command, teeing its merged output to `log_file` and `on_line`.

        It runs in its own process group. On Ctrl-C (KeyboardInterrupt) the
        group gets SIGTERM so that fai-diskimage's own cleanup runs, then we
        wait up to `grace` seconds before SIGKILL, and re-raise. With
        inherit=False it sees only `env` (and PATH, the locale).
        """
        argv = [str(a) for a in argv]
        log.debug(shlex.join(argv))
        popen = subprocess.Popen(
            argv,
            env=base_env(env, inherit=inherit),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = Process(popen, argv)
        try:
            assert popen.stdout is not None
            for raw in popen.stdout:
                line = raw.decode(errors="replace")
                if log_file:
                    log_file.write(line)
                    log_file.flush()
                if on_line:
                    on_line(line.rstrip("\n"))
            return popen.wait()
        except BaseException:
            proc.stop(grace)
            raise

    def spawn(
        self,
        argv: Argv,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    ) -> Process:
        argv = [str(a) for a in argv]
        log.debug(shlex.join(argv))
        popen = subprocess.Popen(
            argv,
            env=base_env(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Process(popen, argv)
