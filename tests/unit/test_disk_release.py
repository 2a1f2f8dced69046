"""A build returns only when the kernel has let go of its image's loop devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.core import disk
from overlay.core.runner import Result
from tests.fakes import FakeRunner


class LingeringLoop(FakeRunner):
    """`losetup --associated` lists the loop for the first `polls` calls, then nothing."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = polls

    def run(self, argv, **kwargs):  # type: ignore[no-untyped-def, override]
        super().run(argv, **kwargs)
        if self.polls > 0:
            self.polls -= 1
            return Result(tuple(map(str, argv)), 0, "/dev/loop3\n")
        return Result(tuple(map(str, argv)), 0, "")


def test_a_loop_the_kernel_releases_late_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk.time, "sleep", lambda s: None)
    runner = LingeringLoop(polls=3)
    assert disk.wait_released(Path("/img.raw"), runner, timeout=30) == []
    assert len(runner.calls) == 4 and runner.calls[0][:2] == ("losetup", "--associated")


def test_a_loop_still_bound_after_the_timeout_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk.time, "sleep", lambda s: None)
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(disk.time, "monotonic", lambda: next(clock))
    assert disk.wait_released(Path("/img.raw"), LingeringLoop(polls=100), timeout=30) == ["/dev/loop3"]
