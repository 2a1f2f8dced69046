"""Shared helpers for the test suite: running the CLI, host state snapshots, image builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The project's mirror lags: its forky Release files are past their Valid-Until
# (docs/testing.md). Test builds accept Release files up to this many days old.
BUILD_ARGS = ["--apt-max-age", os.environ.get("FAI_OVERLAY_TEST_APT_MAX_AGE", "60")]
# What the canary build carries and no output may show (tests/integration/test_secrets.py).
CANARY_VARIABLE, CANARY = "CI_JOB_TOKEN", "fo-canary-3f9a2c71"
PROXY_PASSWORD = "fo-proxy-pw-8e41d0"


def cli(
    *args: str | Path,
    check: bool = False,
    timeout: float = 3600,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """Run `fai-overlay ARGS` as a user would, capturing stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "overlay", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"fai-overlay {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    return proc


def loop_devices() -> set[str]:
    out = subprocess.run(
        ["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], capture_output=True, text=True
    ).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def mounts() -> set[str]:
    with open("/proc/mounts") as f:
        return {" ".join(line.split()[:2]) for line in f}


def qemu_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if os.path.basename(cmd).startswith(b"qemu-system-"):
                pids.add(int(entry.name))
    return pids


@dataclass
class HostState:
    loops: set[str] = field(default_factory=loop_devices)
    mounts: set[str] = field(default_factory=mounts)
    qemu: set[int] = field(default_factory=qemu_pids)

    def leaks_since(
        self, before: HostState, ignore: Callable[[str], bool] = lambda path: False
    ) -> list[str]:
        """What appeared since `before`; loops and mounts for which ignore(path) holds are not counted."""
        loops = [x for x in sorted(self.loops - before.loops) if not any(ignore(w) for w in x.split()[1:])]
        mounts = [x for x in sorted(self.mounts - before.mounts) if not any(ignore(w) for w in x.split())]
        leaks = [f"loop device left behind: {x}" for x in loops]
        leaks += [f"mount left behind: {x}" for x in mounts]
        leaks += [f"QEMU process left running: pid {x}" for x in sorted(self.qemu - before.qemu)]
        return leaks


@dataclass
class Built:
    """A finished build: its directory, name and manifest."""

    out_dir: Path
    name: str
    seconds: float = 0.0

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / f"{self.name}.build.json"

    @property
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.manifest_path.read_text())
        return data

    @property
    def raw(self) -> Path:
        return self.out_dir / f"{self.name}.raw"

    @property
    def qcow2(self) -> Path:
        return self.out_dir / f"{self.name}.qcow2"

    def package_names(self) -> set[str]:
        return {p["name"] for p in self.manifest["packages"]}


def secrets_in(root: Path) -> list[str]:
    """Files under `root` holding the canary or the proxy password (holes of sparse images skipped)."""
    needles = (CANARY.encode(), PROXY_PASSWORD.encode())
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        with path.open("rb") as f:
            size, pos, tail = path.stat().st_size, 0, b""
            while pos < size:
                try:
                    start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
                    end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
                except OSError:
                    break
                f.seek(start)
                while start < end:
                    chunk = tail + f.read(min(8 << 20, end - start))
                    if any(n in chunk for n in needles):
                        found.append(str(path))
                        start = end = size
                        break
                    start += len(chunk) - len(tail)
                    tail = chunk[-64:]
                pos = end
    return found
