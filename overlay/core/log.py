"""Progress on stderr as nested, timed steps. stdout is kept for data (--json).

Work that runs in threads (boots of several firmwares at once) logs through
`branch`: each thread keeps its own nesting, starting where the caller was,
and prefixes its lines (`[uefi] `) so interleaved lines stay readable.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

_stream: TextIO | None = None  # None: whatever sys.stderr is when a line is written
_quiet = False
_debug = False
_lock = threading.Lock()


class _State(threading.local):
    depth = 0
    prefix = ""


_state = _State()


def configure(*, quiet: bool = False, debug: bool = False, stream: TextIO | None = None) -> None:
    global _quiet, _debug, _stream
    _quiet, _debug = quiet, debug
    _stream = stream


def _emit(prefix: str, message: str) -> None:
    if _quiet:
        return
    out = _stream or sys.stderr
    with _lock:
        out.write(f"{'  ' * _state.depth}{_state.prefix}{prefix}{message}\n")
        out.flush()


def info(message: str) -> None:
    _emit("", message)


def warn(message: str) -> None:
    _emit("warning: ", message)


def debug(message: str) -> None:
    if _debug:
        _emit("+ ", message)


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def depth() -> int:
    return _state.depth


@contextlib.contextmanager
def branch(label: str, at_depth: int) -> Iterator[None]:
    """In a worker thread: log at `at_depth` (the caller's depth), each line prefixed with [label]."""
    _state.depth, _state.prefix = at_depth, f"[{label}] "
    try:
        yield
    finally:
        _state.depth, _state.prefix = 0, ""


@contextlib.contextmanager
def step(title: str) -> Iterator[dict[str, float]]:
    """Print `title…`, indent what happens inside, then print the elapsed time.

    The yielded dict receives the duration under "seconds" once the step ends,
    so callers can record timings in manifests.
    """
    timing: dict[str, float] = {}
    _emit("▸ ", f"{title}…")
    start = time.monotonic()
    _state.depth += 1
    ok = False
    try:
        yield timing
        ok = True
    finally:
        _state.depth -= 1
        timing["seconds"] = time.monotonic() - start
        status = "done" if ok else "FAILED"
        _emit("  ", f"{status} in {fmt_seconds(timing['seconds'])}")
