"""The serial console over QEMU's pipe chardev: FIFOs made before QEMU starts, read with pexpect.

A fake QEMU here opens the FIFOs the way QEMU's pipe chardev does; no QEMU runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from overlay.vm.console import BootFailed, Console


@dataclass
class FakeQemu:
    console: Console
    out: int  # the fake QEMU writes the output FIFO
    inp: int  # and reads the input one

    def quit(self) -> None:
        if self.out >= 0:
            os.close(self.out)
            self.out = -1


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[FakeQemu]:
    con = Console(tmp_path / "console.in", tmp_path / "console.out", tmp_path / "console.log")
    fake = FakeQemu(
        con,
        os.open(tmp_path / "console.out", os.O_WRONLY | os.O_NONBLOCK),
        os.open(tmp_path / "console.in", os.O_RDONLY | os.O_NONBLOCK),
    )
    yield fake
    con.close()
    fake.quit()
    os.close(fake.inp)


def test_a_whole_boots_output_fits_without_a_reader(qemu: FakeQemu) -> None:
    # the guest never waits for a slow reader: 512 KiB go in at once (a default pipe takes 64 KiB)
    filler = b"[    1.000000] a kernel message of about sixty characters....\n" * 8192
    assert os.write(qemu.out, filler) == len(filler)
    os.write(qemu.out, b"[    2.0] Linux version 6.12.0-1-amd64\n")
    qemu.console.wait("firmware", r"Linux version \d", 5)
    assert qemu.console.phases[0].name == "firmware"


def test_a_milestone_early_in_a_large_read_is_found(qemu: FakeQemu) -> None:
    # a reader that fell behind gets a lot at once; every byte of it is searched, not just the end
    os.write(
        qemu.out, b"[    2.0] Linux version 6.12.0-1-amd64\n" + b"[    2.1] later kernel messages\n" * 3000
    )
    qemu.console.wait("firmware", r"Linux version \d", 5)


def test_what_is_sent_reaches_the_guest_and_the_end_of_qemu_is_noticed(qemu: FakeQemu) -> None:
    qemu.console.send("root\n")
    assert os.read(qemu.inp, 100) == b"root\n"
    os.write(qemu.out, b"localhost login: ")
    index, before, _ = qemu.console.expect("login", [r"login: $"], 5)
    assert index == 0 and before == "localhost "
    qemu.quit()
    with pytest.raises(BootFailed, match="QEMU stopped during userspace"):
        qemu.console.wait("userspace", "never", 5)


def test_a_failure_pattern_ends_the_wait_at_once(qemu: FakeQemu) -> None:
    os.write(qemu.out, b"[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
    with pytest.raises(BootFailed, match="the kernel panicked"):
        qemu.console.wait("kernel", "systemd", 5)
