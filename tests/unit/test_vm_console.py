"""The serial console over QEMU's pipe chardev: FIFOs made before QEMU starts, read with pexpect;
the host keys read from its log.

A fake QEMU here opens the FIFOs the way QEMU's pipe chardev does; no QEMU runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from overlay.vm.console import KEYS_RE, BootFailed, Console, keys_block, well_formed_key


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


def test_a_garbled_end_marker_still_ends_the_host_keys() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO5rOlXBJOjBsSN8haGvFs8jV/8wmh//k5teLQL33VGV root@x"
    text = f"-----BEGIN SSH HOST KEY KEYS-----\n{key}\n-----END SSH HHOST KEY KEYS-----\n[ 274.1] cloud-init"
    match = KEYS_RE.search(text)
    assert match is not None and match.group(1).strip() == key
    # the start marker too: a doubled character must not hide the keys
    text = f"------BEGIN SSH HOSST KEY KEYS-----\n{key}\n-----END SSH HOST KEY KEYS-----\n"
    match = KEYS_RE.search(text)
    assert match is not None and match.group(1).strip() == key
    # a start marker that lost a character: the lines before the end marker are the block
    fingerprints = "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:abc root@x (ED25519)\n"
    fingerprints += "-----END SSH HOST KEY FINGERPRINTS-----\n"
    text = f"{fingerprints}-----BEGN SSH HOST KEY KEYS-----\n{key}\n-----END SSH HOST KEY KEYS-----\n"
    block = keys_block(text)
    assert block is not None and [ln for ln in block.splitlines() if well_formed_key(ln)] == [key]
    assert keys_block(fingerprints + "-----BEGIN SSH HOST KEY KEYS-----\n") is None  # not there yet
    # the fingerprints block is not the keys block
    assert (
        KEYS_RE.search(
            "-----BEGIN SSH HOST KEY FINGERPRINTS-----\nx\n-----END SSH HOST KEY FINGERPRINTS-----"
        )
        is None
    )


def test_garbled_host_keys_are_not_pinned() -> None:
    good = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO5rOlXBJOjBsSN8haGvFs8jV/8wmh//k5teLQL33VGV root@x"
    assert well_formed_key(good)
    assert not well_formed_key(good.replace("AAAAIO5r", "AAAAIO5rr"))  # one character too many
    assert not well_formed_key(good.replace("ssh-ed25519", "ssh-rsa"))  # type does not match the blob
    assert not well_formed_key("garbage")
