"""The serial console, driven with pexpect over QEMU's pipe chardev (two FIFOs).

The output FIFO buffers what the guest writes until we read it, so nothing is
lost and the guest never waits for us; QEMU's logfile= keeps the complete
console log. Every wait also watches for failure patterns
(data/console-patterns.yaml), so a broken boot fails at once with a message
that says what went wrong.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pexpect.fdpexpect

from overlay.core import resources
from overlay.core.errors import BuildFailed


def _doubled(text: str) -> str:
    """A regex for `text` that tolerates any of its characters doubled."""
    return "".join(re.escape(c) + "+" for c in text)


# Both markers are matched loosely, as a defence: when the console was a unix socket, QEMU's log
# doubled characters under load ("-----END SSH HHOST KEY KEYS-----"). Each key is checked anyway.
KEYS_RE = re.compile(
    rf"{_doubled('-----BEGIN SSH HOST KEY KEYS-----')}(.*?)-+{_doubled('END')}[^\n]*KEYS-+", re.S
)
# Without a start marker that matches (a character lost), the block is the lines before the end one.
KEYS_END_RE = re.compile(rf"-+{_doubled('END')}[^\n]*KEYS-+")
KEYS_MAX = 8  # cloud-init prints one line per host key type
# pexpect searches only the last SEARCH_WINDOW characters after each read, so a read (at most
# READ_MAX) must fit in it with room for a pattern that began in the previous read; every console
# pattern is one line long.
READ_MAX = 8192
SEARCH_WINDOW = 2 * READ_MAX
ANSI_RE = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]|\r")


def keys_block(text: str) -> str | None:
    """The text of cloud-init's SSH HOST KEY KEYS block on the console, or None before it is there.

    When the start marker came through garbled beyond a doubled character, the
    lines just before the end marker are the block; each key is checked anyway.
    """
    match = KEYS_RE.search(text)
    if match:
        return match.group(1)
    end = KEYS_END_RE.search(text)
    if end is None:
        return None
    return "\n".join(text[: end.start()].splitlines()[-KEYS_MAX:])


@functools.cache
def patterns() -> dict[str, Any]:
    data: dict[str, Any] = resources.data_yaml("console-patterns.yaml").data
    return data


def well_formed_key(line: str) -> bool:
    """An OpenSSH public key line whose base64 blob parses as length-prefixed fields."""
    import base64
    import binascii
    import struct

    words = line.split()
    if len(words) < 2 or not words[0].startswith(("ssh-", "ecdsa-")):
        return False
    try:
        blob = base64.b64decode(words[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    offset = 0
    fields = []
    while offset < len(blob):
        if offset + 4 > len(blob):
            return False
        (size,) = struct.unpack(">I", blob[offset : offset + 4])
        fields.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return offset == len(blob) and bool(fields) and fields[0] == words[0].encode()


class BootFailed(BuildFailed):
    pass


@dataclass
class Phase:
    name: str
    seconds: float


# What the console pipe holds before the guest's serial port has to wait for us: a boot writes
# under 100 KiB (75 KiB measured), so the guest never waits, whatever the host's load (64 KiB is
# the kernel's default).
PIPE_BYTES = 1 << 20


def _grow(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # above /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE: keep the default
        pass


class Console:
    """The guest's serial console over a pair of FIFOs (QEMU's pipe chardev).

    Made before QEMU starts: the FIFOs exist and the output pipe is already
    large when QEMU opens them, so nothing is lost and the guest never blocks
    on a slow reader. Read only once QEMU is up (its QMP socket answers): until
    QEMU opens the output FIFO, reading it says end of file.
    """

    def __init__(self, in_path: Path, out_path: Path, log_path: Path) -> None:
        self.log_path = log_path
        for fifo in (in_path, out_path):
            os.mkfifo(fifo, 0o600)
        self.out_fd = os.open(out_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(self.out_fd, True)  # pexpect selects before it reads
        _grow(self.out_fd)
        self.in_fd = os.open(in_path, os.O_RDWR | os.O_CLOEXEC)  # RDWR: no wait for QEMU's open
        self.child = pexpect.fdpexpect.fdspawn(
            self.out_fd,
            encoding="utf-8",
            codec_errors="replace",
            maxread=READ_MAX,
            searchwindowsize=SEARCH_WINDOW,
        )
        self.started = time.monotonic()
        self.phases: list[Phase] = []
        failures = patterns()["failures"]
        self.failure_res = [re.compile(f["pattern"]) for f in failures]
        self.failure_meaning = [f["meaning"] for f in failures]

    def wait(self, phase: str, pattern: str, timeout: float) -> None:
        """Wait for `pattern`; fail at once on a failure pattern, EOF or timeout."""
        self.expect(phase, [pattern], timeout)

    def expect(self, phase: str, wanted_patterns: list[str], timeout: float) -> tuple[int, str, str]:
        """Wait for the first of `wanted_patterns`: its index, the console text before it, the match.

        A failure pattern, QEMU stopping or the timeout fail at once, saying which.
        """
        t0 = time.monotonic()
        n = len(wanted_patterns)
        wanted = [*map(re.compile, wanted_patterns), *self.failure_res, pexpect.EOF, pexpect.TIMEOUT]
        index = self.child.expect(wanted, timeout=timeout)
        elapsed = time.monotonic() - t0
        if index < n:
            self.phases.append(Phase(phase, elapsed))
            return index, ANSI_RE.sub("", str(self.child.before)), str(self.child.after)
        pattern = " or ".join(wanted_patterns)
        index -= n - 1
        if index <= len(self.failure_res):
            meaning = self.failure_meaning[index - 1]
            raise BootFailed(
                f"boot failed during {phase}: {meaning} (console: '{self.child.after.strip()[:120]}')",
                hint=f"see {self.log_path}",
            )
        if index == len(self.failure_res) + 1:
            raise BootFailed(
                f"QEMU stopped during {phase} after {elapsed:.0f}s", hint=f"see {self.log_path}"
            )
        raise BootFailed(
            f"timed out after {timeout:.0f}s waiting for {phase} ('{pattern}')",
            hint=f"see {self.log_path}; last console line: {self.last_line()!r}",
        )

    def send(self, text: str) -> None:
        data = text.encode()
        while data:
            data = data[os.write(self.in_fd, data) :]

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
        """The public host keys cloud-init printed (tools/write-ssh-key-fingerprints).

        A serial console under TCG can garble a character of a long line; keys
        whose wire format does not add up are dropped, never pinned.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            block = keys_block(self.text())
            if block is not None:
                keys = [ln.strip() for ln in block.splitlines() if well_formed_key(ln.strip())]
                if keys:
                    return keys
                raise BootFailed("every ssh host key on the console is garbled", hint=f"see {self.log_path}")
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
            self.child.close()  # closes the output FIFO
        except (OSError, pexpect.ExceptionPexpect):
            pass
        try:
            os.close(self.in_fd)
        except OSError:
            pass
