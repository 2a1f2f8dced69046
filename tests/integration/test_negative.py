"""Deliberately broken images must fail `test` or `boot` with a message naming the problem.

Faults an offline check catches (a leftover ssh host key, a target configured
twice, grub.cfg naming a loop device, ...) are planted into copies of the
default image instead of being built: tests/integration/test_planted_faults.py.
What is left here needs a boot or an overlay's own tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import faults
from tests.support import FIXTURES, cli, qemu_pids

pytestmark = [pytest.mark.integration, pytest.mark.builds("default", "broken-fstab")]


def with_overlay(raw: Path, overlay: Path) -> None:
    """Record one more overlay in a copy's manifest, as a build with --overlay would: its tests then run."""
    manifest = faults.manifest_of(raw)
    data = json.loads(manifest.read_text())
    layer = {"name": overlay.name, "kind": "overlay", "path": str(overlay), "digest": "sha256:" + "0" * 64}
    data["layers"].insert(-1, layer)  # before the internal layer, like a build
    manifest.write_text(json.dumps(data, indent=2))


def test_failing_overlay_tests_fail_test_and_boot(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The failing-tests overlay changes nothing in the image: a copy of the default image that records it
    is what a build with it would produce."""
    default = builder.image("default")
    raw = faults.copy_image(default.raw, tmp_path)
    with_overlay(raw, FIXTURES / "overlays" / "failing-tests")
    proc = cli("test", raw, env={"FAI_OVERLAY_DCI": ""})
    assert proc.returncode == 1
    assert "test_failing.test_offline_marker_file" in proc.stderr  # the overlay's own test ran and failed
    name = json.loads(faults.manifest_of(raw).read_text())["name"]
    log = (tmp_path / f"{name}.test.log").read_text()
    assert "the marker file this overlay expects is missing" in log
    assert ", 1 failed," in (tmp_path / f"{name}.test.txt").read_text()  # nothing else failed
    # live: the image boots, but the overlay's live test fails the run
    before = qemu_pids()
    proc = cli("boot", raw, "--firmware", "bios")
    assert proc.returncode == 1
    assert "test_live_marker_service" in proc.stderr and "live checks failed" in proc.stderr
    assert qemu_pids() == before


def test_broken_fstab_fails_to_boot(builder) -> None:  # type: ignore[no-untyped-def]
    image = builder.image("broken-fstab")
    before = qemu_pids()
    proc = cli("boot", image.raw, "--firmware", "bios")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "boot failed during userspace" in last and "emergency mode" in last
    assert qemu_pids() == before
