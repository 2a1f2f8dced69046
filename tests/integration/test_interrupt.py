"""Ctrl-C: a build or a boot interrupted midway leaves nothing mounted, attached or running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import BUILD_ARGS, EXAMPLES, REPO, HostState, qemu_pids

pytestmark = [pytest.mark.integration, pytest.mark.builds("default")]


def start(*args: str | Path) -> subprocess.Popen[str]:
    """fai-overlay as a terminal would start it: with SIGINT's default action, even when the suite
    itself runs in the background of a shell (which starts it with SIGINT ignored)."""
    return subprocess.Popen(
        [sys.executable, "-m", "overlay", *map(str, args)],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def interrupt_when(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Read stderr until `marker` appears, then send SIGINT (what Ctrl-C sends); return all stderr."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if marker in line:
            time.sleep(3)
            os.kill(proc.pid, signal.SIGINT)
            break
    else:
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=300)
        pytest.fail(f"{marker!r} did not appear within {timeout:.0f} s:\n{seen[-2000:]}")
    rest = proc.communicate(timeout=300)[1]
    return seen + rest


def test_ctrl_c_during_a_build(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    with builder.lane.quiet():  # else this build waits for the host's build lock as long as the lane builds
        before = HostState()
        proc = start("build", EXAMPLES / "default.yaml", "-o", out, *BUILD_ARGS)
        stderr = interrupt_when(proc, "extrbase", timeout=600)  # debootstrap is done, packages install
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr.strip().splitlines()[-1]
    assert HostState().leaks_since(before, builder.lane_owns) == []  # the lane's build is not ours
    assert not [p for p in out.iterdir() if p.suffix in (".raw", ".qcow2")]
    assert not list(out.glob(".*.partial"))
    failed = json.loads((out / "debian-trixie-genericcloud-amd64.build.failed.json").read_text())
    assert failed["reasons"] == ["interrupted (Ctrl-C)"]


def test_ctrl_c_during_a_boot(builder) -> None:  # type: ignore[no-untyped-def]
    image = builder.image("default")
    before = qemu_pids()
    proc = start("boot", image.qcow2, "--firmware", "bios")
    stderr = interrupt_when(proc, "QEMU pid", timeout=300)
    assert proc.returncode == 130, stderr[-2000:]
    deadline = time.monotonic() + 30
    while qemu_pids() != before and time.monotonic() < deadline:
        time.sleep(1)
    assert qemu_pids() == before, "QEMU is still running after Ctrl-C"
