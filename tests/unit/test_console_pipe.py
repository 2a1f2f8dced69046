"""The serial console over QEMU's pipe chardev: FIFOs made before QEMU starts, read with pexpect.

A fake QEMU here opens the FIFOs the way QEMU's pipe chardev does; no QEMU runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from overlay.vm.console import BootFailed, Console


def open_console(tmp_path: Path) -> tuple[Console, int, int]:
    """The console, and the fake QEMU's ends: it writes the output FIFO and reads the input one."""
    con = Console(tmp_path / "console.in", tmp_path / "console.out", tmp_path / "console.log")
    guest_out = os.open(tmp_path / "console.out", os.O_WRONLY | os.O_NONBLOCK)
    guest_in = os.open(tmp_path / "console.in", os.O_RDONLY | os.O_NONBLOCK)
    return con, guest_out, guest_in


def test_a_whole_boots_output_fits_without_a_reader(tmp_path: Path) -> None:
    # the guest never waits for a slow reader: 512 KiB go in at once (a default pipe takes 64 KiB)
    con, out, inp = open_console(tmp_path)
    try:
        filler = b"[    1.000000] a kernel message of about sixty characters....\n" * 8192
        assert os.write(out, filler) == len(filler)
        os.write(out, b"[    2.0] Linux version 6.12.0-1-amd64\n")
        con.wait("firmware", r"Linux version \d", 5)
        assert con.phases[0].name == "firmware"
    finally:
        con.close()
        os.close(out)
        os.close(inp)


def test_what_is_sent_reaches_the_guest_and_the_end_of_qemu_is_noticed(tmp_path: Path) -> None:
    con, out, inp = open_console(tmp_path)
    try:
        con.send("root\n")
        assert os.read(inp, 100) == b"root\n"
        os.write(out, b"localhost login: ")
        index, before, _ = con.expect("login", [r"login: $"], 5)
        assert index == 0 and before == "localhost "
        os.close(out)  # QEMU exits
        out = -1
        with pytest.raises(BootFailed, match="QEMU stopped during userspace"):
            con.wait("userspace", "never", 5)
    finally:
        con.close()
        if out >= 0:
            os.close(out)
        os.close(inp)


def test_a_failure_pattern_ends_the_wait_at_once(tmp_path: Path) -> None:
    con, out, inp = open_console(tmp_path)
    try:
        os.write(out, b"[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
        with pytest.raises(BootFailed, match="the kernel panicked"):
            con.wait("kernel", "systemd", 5)
    finally:
        con.close()
        os.close(out)
        os.close(inp)
