"""Boots of several firmwares at once: results in order, progress lines labelled, Ctrl-C stops every VM."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from overlay.core import log
from overlay.verify import live
from overlay.vm import machine


def test_firmwares_boot_at_once_and_results_keep_their_order(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    running: set[str] = set()
    overlap: list[set[str]] = []

    def fake_boot(target, firmware, runner, options):  # type: ignore[no-untyped-def]
        running.add(firmware)
        log.info("started")
        time.sleep(0.2)
        overlap.append(set(running))
        running.discard(firmware)
        return live.BootRun(firmware, seconds=0.2)

    monkeypatch.setattr(live, "boot_once", fake_boot)
    runs = live._boot_all(None, ["bios", "uefi"], None, live.BootOptions(jobs=2))  # type: ignore[arg-type]
    assert [r.firmware for r in runs] == ["bios", "uefi"]
    assert {"bios", "uefi"} in overlap  # they ran at the same time
    err = capsys.readouterr().err
    assert "[bios] started" in err and "[uefi] started" in err


def test_one_job_boots_one_after_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []

    def fake_boot(target, firmware, runner, options):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return live.BootRun(firmware)

    monkeypatch.setattr(live, "boot_once", fake_boot)
    live._boot_all(None, ["bios", "uefi"], None, live.BootOptions(jobs=1))  # type: ignore[arg-type]
    assert threads == [threading.main_thread().name] * 2


def test_ctrl_c_stops_every_vm_and_re_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped = threading.Event()
    started = threading.Barrier(3)

    def fake_boot(target, firmware, runner, options):  # type: ignore[no-untyped-def]
        started.wait()
        assert stopped.wait(10), "the VM was never stopped"
        return live.BootRun(firmware, error="stopped")

    def interrupt_waiting(self, timeout=None):  # type: ignore[no-untyped-def]
        started.wait()
        raise KeyboardInterrupt

    monkeypatch.setattr(live, "boot_once", fake_boot)
    monkeypatch.setattr(machine, "stop_all", stopped.set)
    monkeypatch.setattr(live.concurrent.futures.Future, "result", interrupt_waiting)
    with pytest.raises(KeyboardInterrupt):
        live._boot_all(None, ["bios", "uefi"], None, live.BootOptions(jobs=2))  # type: ignore[arg-type]
    assert stopped.is_set()


def test_the_vm_registry_stops_what_is_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class FakeProcess:
        def __init__(self) -> None:
            self.stopped = False

        def poll(self) -> int | None:
            return 0 if self.stopped else None

        def stop(self, grace: float = 10) -> int:
            self.stopped = True
            return 0

    a, b = FakeProcess(), FakeProcess()
    machine._track(a, True)  # type: ignore[arg-type]
    machine._track(b, True)  # type: ignore[arg-type]
    machine._track(b, False)  # type: ignore[arg-type]
    machine.stop_all()
    machine._track(a, False)  # type: ignore[arg-type]
    assert a.stopped and not b.stopped
