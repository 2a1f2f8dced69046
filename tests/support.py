"""Shared helpers for the test suite: running the CLI, host state snapshots, image builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The project's mirror lags: its forky Release files are past their Valid-Until
# (docs/testing.md). Test builds accept Release files up to this many days old.
BUILD_ARGS = ["--apt-max-age", os.environ.get("FAI_OVERLAY_TEST_APT_MAX_AGE", "60")]


def cli(
    *args: str | Path, check: bool = False, timeout: float = 3600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `fai-overlay ARGS` as a user would, capturing stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "overlay", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
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

    def leaks_since(self, before: HostState) -> list[str]:
        leaks = [f"loop device left behind: {x}" for x in sorted(self.loops - before.loops)]
        leaks += [f"mount left behind: {x}" for x in sorted(self.mounts - before.mounts)]
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
