"""Turn fai-diskimage's verbose output into a few progress lines with timings."""

from __future__ import annotations

import re
import time

from overlay.core import log

TASK_RE = re.compile(r"^Calling task_(\w+)")
HOOK_RE = re.compile(r"^(?:Calling|Source) hook: (\w+)\.")
STATUS_RE = re.compile(r"^(\S+)\s+FAILED with exit code (\d+)\.")
QUIET_TASKS = {"confdir", "setup", "defclass", "defvar", "action", "install", "chboot", "savelog", "faiend"}


class FaiProgress:
    """Feed it output lines; it prints 'task … time' as each task ends."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self.failed: list[str] = []

    def _finish(self) -> None:
        if self.current is None:
            return
        elapsed = time.monotonic() - self.started
        self.timings[self.current] = self.timings.get(self.current, 0.0) + elapsed
        if self.current not in QUIET_TASKS:
            log.info(f"{self.current:<12} {log.fmt_seconds(elapsed):>7}")
        self.current = None

    def _start(self, task: str) -> None:
        self._finish()
        self.current, self.started = task, time.monotonic()

    def feed(self, line: str) -> None:
        # Hooks run before their task, and often do its work (then skip it),
        # so a hook line starts the phase of the task it belongs to.
        if m := TASK_RE.match(line) or HOOK_RE.match(line):
            if m.group(1) != self.current:
                self._start(m.group(1))
        elif m := STATUS_RE.match(line):
            self.failed.append(m.group(1))
            log.warn(f"FAI: {m.group(1)} FAILED with exit code {m.group(2)}")

    def close(self) -> dict[str, float]:
        self._finish()
        return self.timings
