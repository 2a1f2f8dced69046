"""The serial console, driven with pexpect over QEMU's socket chardev.

QEMU waits (server=on,wait=on) until we connect, so no output is lost, and
its logfile= keeps the complete console log. Every wait also watches for
failure patterns (data/console-patterns.yaml), so a broken boot fails at once
with a message that says what went wrong.
"""

from __future__ import annotations

import functools
import re
import socket
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pexpect
import pexpect.fdpexpect
import yaml

from overlay.errors import BuildFailed

KEYS_RE = re.compile(r"-----BEGIN SSH HOST KEY KEYS-----(.*?)-----END SSH HOST KEY KEYS-----", re.S)
ANSI_RE = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\r")


@functools.cache
def patterns() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        resources.files("overlay").joinpath("data/console-patterns.yaml").read_text()
    )
    return data


class BootFailed(BuildFailed):
    pass


@dataclass
class Phase:
    name: str
    seconds: float


class Console:
    def __init__(self, sock_path: Path, log_path: Path, timeout: float = 30.0) -> None:
        self.log_path = log_path
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(str(sock_path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise BootFailed(f"QEMU's console socket {sock_path} did not appear") from None
                time.sleep(0.1)
        self.child = pexpect.fdpexpect.fdspawn(
            self.sock.fileno(),
            encoding="utf-8",
            codec_errors="replace",
            maxread=65536,
            searchwindowsize=200000,
        )
        self.started = time.monotonic()
        self.phases: list[Phase] = []
        failures = patterns()["failures"]
        self.failure_res = [re.compile(f["pattern"]) for f in failures]
        self.failure_meaning = [f["meaning"] for f in failures]

    def wait(self, phase: str, pattern: str, timeout: float) -> None:
        """Wait for `pattern`; fail at once on a failure pattern, EOF or timeout."""
        t0 = time.monotonic()
        wanted = [re.compile(pattern), *self.failure_res, pexpect.EOF, pexpect.TIMEOUT]
        index = self.child.expect(wanted, timeout=timeout)
        elapsed = time.monotonic() - t0
        if index == 0:
            self.phases.append(Phase(phase, elapsed))
            return
        if index <= len(self.failure_res):
            meaning = self.failure_meaning[index - 1]
            raise BootFailed(
                f"boot failed during {phase}: {meaning} (console: '{self.child.after.strip()[:120]}')",
                hint=f"see {self.log_path}",
            )
        if index == len(wanted) - 2:
            raise BootFailed(
                f"QEMU stopped during {phase} after {elapsed:.0f}s", hint=f"see {self.log_path}"
            )
        raise BootFailed(
            f"timed out after {timeout:.0f}s waiting for {phase} ('{pattern}')",
            hint=f"see {self.log_path}; last console line: {self.last_line()!r}",
        )

    def send(self, text: str) -> None:
        self.child.send(text)

    def last_line(self) -> str:
        text = self.text()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return lines[-1][-160:] if lines else ""

    def text(self) -> str:
        try:
            return ANSI_RE.sub("", self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return ""

    def ssh_host_keys(self, timeout: float) -> list[str]:
        """The public host keys cloud-init printed (tools/write-ssh-key-fingerprints)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = KEYS_RE.search(self.text())
            if match:
                return [
                    ln.strip()
                    for ln in match.group(1).splitlines()
                    if ln.strip().startswith(("ssh-", "ecdsa-"))
                ]
            time.sleep(1)
        raise BootFailed(
            "cloud-init printed no SSH HOST KEY KEYS block on the console",
            hint=f"is cloud-init installed and ssh enabled? see {self.log_path}",
        )

    def drain(self) -> None:
        """Keep reading in the background so the guest's console never blocks."""
        import threading

        def loop() -> None:
            while True:
                try:
                    self.child.read_nonblocking(65536, timeout=1)
                except pexpect.TIMEOUT:
                    continue
                except (pexpect.EOF, OSError, ValueError):
                    return

        self._drain = threading.Thread(target=loop, daemon=True)
        self._drain.start()

    def close(self) -> None:
        try:
            self.child.close()
        except (OSError, pexpect.ExceptionPexpect):
            pass
        try:  # pexpect closed the descriptor already; release the socket object
            self.sock.detach()
        except OSError:
            pass
