"""Disk images on the host: partition tables, read-only mounts, leftover cleanup.

There is no udev on many build hosts, so partition device nodes are never
assumed: read-only mounts use a loop device per partition at its byte offset.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from overlay.core import arches, commands, log
from overlay.core.errors import OverlayError
from overlay.core.runner import Runner

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_DATA_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"  # a root filesystem of no particular architecture


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    type: str
    uuid: str

    @property
    def is_esp(self) -> bool:
        return self.type.upper() == ESP_TYPE

    @property
    def is_root(self) -> bool:
        return self.type.upper() in arches.root_types() or self.type.upper() == LINUX_DATA_TYPE


def partitions(image: Path, runner: Runner) -> list[Partition]:
    result = runner.run(commands.sfdisk_json(image), check=False)
    if result.returncode != 0:
        raise OverlayError(
            f"no partition table found in {image}",
            hint="is this a disk image built by fai-overlay or fai-diskimage?",
        )
    table = json.loads(result.stdout)["partitiontable"]
    sector = int(table.get("sectorsize", 512))
    out = []
    for p in table.get("partitions", []):
        number = int("".join(ch for ch in p["node"][-3:] if ch.isdigit()) or 0)
        out.append(
            Partition(
                number,
                int(p["start"]) * sector,
                int(p["size"]) * sector,
                p["type"].upper(),
                p.get("uuid", "").upper(),
            )
        )
    return sorted(out, key=lambda p: p.number)


def root_partition(parts: list[Partition], image: Path) -> Partition:
    for p in parts:
        if p.number == 1 or p.is_root:
            return p
    raise OverlayError(f"{image} has no root partition", hint="expected partition 1 or a Linux root type")


@contextlib.contextmanager
def mounted_root(image: Path, runner: Runner) -> Iterator[Path]:
    """Mount an image's root filesystem read-only (ro,noload), always unmounting."""
    part = root_partition(partitions(image, runner), image)
    with contextlib.ExitStack() as stack:
        mnt = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fai-overlay-mnt.")))
        device = runner.run(
            commands.losetup_attach(image, read_only=True, offset=part.start, sizelimit=part.size)
        ).stdout.strip()
        stack.callback(lambda: runner.run(commands.losetup_detach(device), check=False))
        runner.run(commands.mount(device, mnt, options="ro,noload", fstype="ext4"))
        stack.callback(_unmount, mnt, runner)
        log.debug(f"mounted {image} root at {mnt} ({device})")
        yield mnt


def _unmount(mnt: Path, runner: Runner) -> None:
    """Unmount; if something still uses it (a process a test left behind), detach it lazily."""
    if runner.run(commands.umount(mnt), check=False).returncode != 0:
        runner.run(commands.umount(mnt, lazy=True), check=False)


def loops_for(image: Path, runner: Runner) -> list[str]:
    result = runner.run(
        ["losetup", "--associated", str(image), "--noheadings", "--output", "NAME"], check=False
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def wait_released(image: Path, runner: Runner, timeout: float = 30.0) -> list[str]:
    """Wait until no loop device is bound to `image`; return those still bound after `timeout` s.

    Detaching a loop that something still holds open (a lazily unmounted file
    system) only marks it autoclear: the kernel lets it go when its last user
    closes it, after fai-diskimage has returned.
    """
    deadline = time.monotonic() + timeout
    while (loops := loops_for(image, runner)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return loops


def _mounts() -> list[tuple[str, str]]:
    out = []
    with open("/proc/mounts") as f:
        for line in f:
            source, target = line.split()[:2]
            out.append((source, target.replace("\\040", " ")))
    return out


def unmount_below(directory: Path, runner: Runner) -> list[str]:
    """Lazily unmount every mount strictly below `directory` (deepest first); returns their targets."""
    prefix = str(directory).rstrip("/") + "/"
    below = sorted(
        {t for _, t in _mounts() if t.startswith(prefix)}, key=lambda t: t.count("/"), reverse=True
    )
    return [t for t in below if runner.run(commands.umount(Path(t), lazy=True), check=False).returncode == 0]


def cleanup_image(image: Path, runner: Runner, created_nodes: Path | None = None) -> list[str]:
    """Unmount and detach everything that still uses `image`. Returns what was cleaned.

    Only mounts whose source is one of the image's loop devices, and mounts
    below those, are touched: nothing else on the host.
    """
    cleaned: list[str] = []
    loops = loops_for(image, runner)
    if loops:
        roots = [t for s, t in _mounts() if any(s == lp or s.startswith(lp + "p") for lp in loops)]
        below = [t for _, t in _mounts() if any(t == r or t.startswith(r.rstrip("/") + "/") for r in roots)]
        for target in sorted(set(below), key=lambda t: t.count("/"), reverse=True):
            if runner.run(commands.umount(Path(target), lazy=True), check=False).returncode == 0:
                cleaned.append(f"unmounted {target}")
        for loop in loops:
            if runner.run(commands.losetup_detach(loop), check=False).returncode == 0:
                cleaned.append(f"detached {loop}")
    if created_nodes and created_nodes.is_file():
        for node in created_nodes.read_text().split():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(node)
                cleaned.append(f"removed {node}")
    return cleaned
