"""docs/fai-without-wrapper.md works as written: its shell blocks build the official image with plain FAI.

The page's `sh` blocks run in order, in one bash (`-euo pipefail`, so every command must
succeed), with only the checkout path (`DCI=~/dci`) and the output directory (`OUT=…`)
replaced, and with Debian's plain PATH: no virtualenv, no fai-overlay. Plain fai-diskimage
takes no lock of its own beyond FAI's (which makes a second build fail, not wait), so the test
holds fai-overlay's host lock (/run/lock/fai-overlay.lock) meanwhile, as the page tells users to:
other builds wait. The checkout must not change, ignored files included.

About 2 minutes: one plain build of trixie genericcloud amd64 from the Debian mirror.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from overlay.build.hostsetup import HostPaths, build_lock
from tests import docshell
from tests.support import loop_devices, mounts

pytestmark = [pytest.mark.integration, pytest.mark.dci]

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SIZE = 3 * 2**30  # --size 3G
SCRATCH = ("/dev/shm/dci-apt", "/mnt/dci-root")  # what the page creates outside $OUT, and removes


def _git_state(checkout: Path) -> str | None:
    if not (checkout / ".git").exists():
        return None
    run = subprocess.run(
        ["git", "-C", str(checkout), "status", "--porcelain", "--ignored"], capture_output=True, text=True
    )
    return run.stdout


def _failed(status_log: Path) -> dict[str, int]:
    return {name: int(code) for name, code in docshell.FAILED_RE.findall(status_log.read_text())}


def _junit_failures(report: Path) -> tuple[int, set[str]]:
    cases = list(ET.parse(report).getroot().iter("testcase"))
    failed = {
        f"{c.get('classname')}.{c.get('name')}"
        for c in cases
        if c.find("failure") is not None or c.find("error") is not None
    }
    return len(cases), failed


@pytest.fixture(scope="module")
def host_lock() -> Iterator[None]:
    """fai-overlay's host lock, for the whole module: no other build starts while the page runs or
    while the suite's leftover check (tests/conftest.py) looks for loop devices afterwards."""
    with build_lock(HostPaths()):
        yield


def test_the_page_builds_the_official_image(dci: Path, artifacts: Path, host_lock: None) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test runs fai-diskimage: it needs root", pytrace=False)
    for tool in ("fai-diskimage", "mcopy", "partx", "qemu-img"):
        if shutil.which(tool, path=PATH) is None:
            pytest.fail(f"{tool} is missing: run ./setup.sh first", pytrace=False)
    leftover = [p for p in SCRATCH if Path(p).exists()]
    assert not leftover, f"remove these first (an earlier run of the page?): {leftover}"
    checkout_before = _git_state(dci)
    out = Path(tempfile.mkdtemp(prefix="fai-without-wrapper.", dir="/var/tmp"))
    log = artifacts / "fai-without-wrapper.log"
    env = {"PATH": PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    try:
        loops, mounted = loop_devices(), mounts()
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", docshell.script(dci, out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=out,
            timeout=3600,
        )
        # only the page's: other sessions may test or boot their images (no host lock) meanwhile
        new_loops = {x for x in loop_devices() - loops if str(out) in x}
        new_mounts = {
            x for x in mounts() - mounted if any(m in x for m in (str(out), *SCRATCH, "fai-diskimage"))
        }
        log.write_text(proc.stdout)
        assert proc.returncode == 0, (
            f"the page's commands failed (exit {proc.returncode}); output in {log}:\n{proc.stdout[-3000:]}"
        )
        assert not new_loops, f"loop devices left attached: {sorted(new_loops)}"
        assert not new_mounts, f"mounts left behind: {sorted(new_mounts)}"
        assert not [p for p in SCRATCH if Path(p).exists()], "the page's clean-up step left files"
        assert _git_state(dci) == checkout_before, "the build changed the debian-cloud-images checkout"

        lines = proc.stdout.splitlines()
        assert "224" in lines, "the class snippet did not print 224 classes (trixie genericcloud amd64)"
        assert "fai-diskimage exited with 0" in lines

        (raw,) = out.glob("*.raw")
        name = raw.name.removesuffix(".raw")
        assert raw.stat().st_size == SIZE, f"{raw} is {raw.stat().st_size} bytes, not 3 GiB"
        for suffix in (".info", ".dpkg-status", ".build.junit.xml", ".qcow2"):
            assert (out / f"{name}{suffix}").is_file(), f"{name}{suffix} was not made"

        status_log = out / f"{name}.fai-logs" / "status.log"
        failed = _failed(status_log)
        expected = docshell.expected_failures()
        unexplained = {k: v for k, v in failed.items() if expected.get(k) != v}
        assert not unexplained, f"status.log has FAILED entries the page does not explain: {unexplained}"
        assert "tests.BUILD_IMAGE" in status_log.read_text(), "upstream's in-build tests did not run"

        total, junit_failed = _junit_failures(out / f"{name}.build.junit.xml")
        assert total > 100, f"only {total} in-build tests ran"
        named = docshell.waived_tests()
        unnamed = {f for f in junit_failed if not any(f == n or f.endswith(f".{n}") for n in named)}
        assert not unnamed, f"in-build tests failed that the page does not name: {sorted(unnamed)}"
        assert ("tests.BUILD_IMAGE" in failed) == bool(junit_failed)
        assert f"{total} in-build tests, {len(junit_failed)} failed" in lines

        esp = [ln for ln in lines if ln.startswith("::/EFI/")]
        assert "::/EFI/BOOT/BOOTX64.EFI" in esp, f"the ESP lacks the removable-path boot loader: {esp}"

        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output", "json", str(out / f"{name}.qcow2")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert info["format"] == "qcow2" and info["virtual-size"] == SIZE
    finally:
        shutil.rmtree(out, ignore_errors=True)
