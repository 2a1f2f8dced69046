"""Acceptance 4: publish real builds; kill a real publish midway and run it again."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overlay.publish import tree
from tests.fixtures import publishkit as kit
from tests.support import REPO, cli, secrets_in

pytestmark = [pytest.mark.integration, pytest.mark.builds("default", "default-again")]


def sha512sum_check(directory: Path) -> list[str]:
    proc = subprocess.run(
        ["sha512sum", "-c", "--strict", "SHA512SUMS"], cwd=directory, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def test_real_builds_twice_without_change_publish_once(builder, default_again, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the canary build (built through a proxy with a password) is published first: its tree is
    # checked for secrets at the end
    first, again = default_again, builder.image("default")
    root = tmp_path / "tree"
    one = cli("publish", first.out_dir, "--to", root, "--json")
    assert one.returncode == 0, one.stderr[-3000:]
    decision = json.loads(one.stdout)["decisions"][0]
    assert decision["publish"] is True
    release = first.manifest["image"]["release"]
    vdir = root / release / "daily" / decision["version"]
    stem = f"{first.name}-daily-{decision['version']}"

    ok = sha512sum_check(vdir)
    for ext in ("raw", "qcow2", "tar.xz", "json", "build.log"):
        assert f"{stem}.{ext}: OK" in ok
    assert len(ok) == len(tree.regular_files(vdir))
    assert all(stat.S_IMODE((vdir / rel).stat().st_mode) == 0o444 for rel in tree.regular_files(vdir))
    listing = subprocess.run(
        ["tar", "-tJf", vdir / f"{stem}.tar.xz"], capture_output=True, text=True, check=True
    )
    assert listing.stdout.split() == ["disk.raw"]
    assert json.loads((vdir / f"{stem}.json").read_text()) == first.manifest
    assert f"{first.name}-daily.qcow2: OK" in sha512sum_check(root / release / "daily" / "latest")

    two = cli("publish", again.out_dir, "--to", root, "--json")
    assert two.returncode == 0, two.stderr[-3000:]
    second = json.loads(two.stdout)["decisions"][0]
    assert second["publish"] is False and second["previous"] == decision["version"]
    assert "content is the same as" in second["reason"]
    assert [str(v) for v in tree.versions(vdir.parent)] == [decision["version"]]
    assert f'data-image="{first.name}"' in (root / "index.html").read_text()
    assert secrets_in(root) == [], "a host secret or the proxy password reached the published tree"


def _partial_with_conversion(daily: Path) -> bool:
    for partial in daily.glob(".*.partial"):
        if any(p.suffix in (".tar", ".xz", ".qcow2") for p in partial.iterdir()):
            return True
    return False


def test_killed_publish_leaves_nothing_visible_and_rerun_completes(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    # a raw image only, with 96 MiB of incompressible data: qemu-img, tar and xz take a while
    kit.write_build(out, kit.manifest_doc(), formats=("raw",), raw_data=os.urandom(96 << 20))
    daily = root / "trixie" / "daily"
    with (tmp_path / "publish.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "overlay", "publish", str(out), "--to", str(root)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while proc.poll() is None and not _partial_with_conversion(daily) and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail(
                f"publish ended before it could be killed:\n{(tmp_path / 'publish.log').read_text()}"
            )
        os.killpg(proc.pid, signal.SIGKILL)  # publish and its qemu-img/tar/xz
        proc.wait()
    assert tree.versions(daily) == []
    assert [p.name for p in daily.iterdir() if not p.name.startswith(".")] == []
    assert len(list(daily.glob(".*.partial"))) == 1

    rerun = cli("publish", out, "--to", root)
    assert rerun.returncode == 0, rerun.stderr
    assert "left by an interrupted publish" in rerun.stderr
    (version,) = tree.versions(daily)
    ok = sha512sum_check(daily / str(version))
    for ext in ("raw", "qcow2", "tar.xz", "json"):
        assert f"{kit.NAME}-daily-{version}.{ext}: OK" in ok
    assert list(daily.glob(".*")) == []
    assert os.readlink(daily / "latest") == f"{version}/.latest"
