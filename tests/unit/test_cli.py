"""Bad input: a one-line error naming the file and line, with a hint, and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

from overlay.cli.image import failure_hint
from tests.support import EXAMPLES, cli


def test_bad_definition_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("release: trixie\nvendor: azure\n")
    proc = cli("plan", bad)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"fai-overlay: error: {bad}:2: vendor 'azure' is not one of")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_debug_shows_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("release: trixie\nvendor: azure\n")
    proc = cli("--debug", "plan", bad)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_bad_overlay_names_its_file(tmp_path: Path) -> None:
    ov = tmp_path / "ov"
    (ov / "package_config").mkdir(parents=True)
    (ov / "package_config/OV").write_text("PACKAGES instal\nvim\n")
    proc = cli("compose", EXAMPLES / "default.yaml", "--overlay", ov, "-o", tmp_path / "c")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]  # progress lines come before it
    assert last.startswith(f"fai-overlay: error: {ov}/package_config/OV:1: unknown package command 'instal'")
    assert "(hint: FAI knows:" in last


def test_plan_json_on_stdout(tmp_path: Path) -> None:
    proc = cli("plan", EXAMPLES / "default.yaml", "--json", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"][0] == "fai-diskimage" and doc["classes"][-1]["name"] == "LAST"
    assert doc["env"]["CLOUD_RELEASE_ID"] == "genericcloud"


def test_build_without_root_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    import pytest

    from overlay.build import hostsetup
    from overlay.core.errors import OverlayError

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(OverlayError, match="build needs root") as info:
        hostsetup.require_root("build")
    assert "sudo fai-overlay build" in (info.value.hint or "")


def test_a_failed_build_points_at_the_logs_of_the_steps_that_ran() -> None:
    assert failure_hint(Path("out"), False, False) == "see the .build.log file in out"
    assert failure_hint(Path("out"), True, False) == "see the .build.log and .test.txt files in out"
    both = failure_hint(Path("out"), True, True)
    assert both == "see the .build.log, .test.txt and .boot.txt files in out"
