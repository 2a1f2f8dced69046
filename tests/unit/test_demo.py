"""examples/demo: the script's commands parse with the real parser (its dry run), and its page summary reads
a real results page. The demo itself builds and boots: docs/demo.md gives its measured run."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from overlay.cli.main import build_parser
from overlay.publish import publisher
from overlay.publish.tree import Kind
from tests.fixtures import publishkit as kit
from tests.support import REPO

DEMO = REPO / "examples/demo"


def dry_run(out: Path, **env: str) -> list[list[str]]:
    """The `$ fai-overlay …` lines of a dry run, as argv."""
    base = {k: v for k, v in os.environ.items() if k != "FAI_OVERLAY_DCI"}
    proc = subprocess.run(
        [str(DEMO / "run.sh"), "--dry-run", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**base, **env},
        check=True,
    )
    assert not out.exists(), "a dry run must not create the output directory"
    return [shlex.split(ln[2:]) for ln in proc.stdout.splitlines() if ln.startswith("$ fai-overlay ")]


@pytest.mark.parametrize("dci", [None, "/srv/dci"], ids=["embedded", "debian-cloud-images"])
def test_every_command_of_the_demo_parses(tmp_path: Path, dci: str | None) -> None:
    argvs = dry_run(tmp_path / "demo-out", **({"FAI_OVERLAY_DCI": dci} if dci else {}))
    assert [a[1] for a in argvs] == ["plan", "build", "build", "diff", "publish"]
    for argv in argvs:
        build_parser().parse_args(argv[1:])
    plan, blend, plain, diff, publish = argvs
    assert {"--test", "--boot"} <= set(blend) and "--firmware" in blend
    assert "--drop-class" in blend and blend[blend.index("--drop-class") + 1] == "EXTRAS"
    for definition in (plan[2], blend[2], plain[2]):
        assert (REPO / definition).is_file(), definition
    assert ("dci" in blend[2]) == bool(dci) and ("dci" in plain[2]) == bool(dci)
    assert diff[2].endswith(".build.json") and diff[3].endswith(".build.json")
    assert publish[2] == str(tmp_path / "demo-out/images") and publish[4] == str(tmp_path / "demo-out/tree")


def test_unknown_arguments_are_refused(tmp_path: Path) -> None:
    proc = subprocess.run([str(DEMO / "run.sh"), "--frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown argument" in proc.stderr


def test_the_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(DEMO / "run.sh")], check=True)


def summary_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("page_summary", DEMO / "page_summary.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_page_summary_reads_a_published_page(tmp_path: Path) -> None:
    tests = kit.junit_xml(["checks.test_sshd", "checks.test_apt"], {"test_motd": "motd is empty"})
    boot = kit.junit_xml(["test_boot", "test_ssh_login"])
    kit.write_build(tmp_path / "out", kit.manifest_doc(), junit={"test": tests, "boot": boot})
    tree = tmp_path / "tree"
    publisher.publish(
        tmp_path / "out", tree, Kind.daily, runner=kit.ConvertingRunner(), today=dt.date(2026, 11, 26)
    )
    lines = summary_module().summary((tree / "index.html").read_text())
    assert lines[0].startswith("trixie daily 20261126-1, published ")
    assert lines[1] == f"  {kit.NAME}-daily-20261126-1"
    assert lines[2].startswith("    files: qcow2 ") and ", raw " in lines[2] and ", json " in lines[2]
    assert "    manifest: 4 packages." in lines
    assert "    offline tests: failed (2 passed, 1 failed, 0 skipped)" in lines
    assert "      checks.test_motd: motd is empty" in lines
    assert "    live boot tests: passed (2 passed, 0 failed, 0 skipped)" in lines
    assert "    First published build of this image here." in lines


def test_the_page_summary_of_an_empty_tree(tmp_path: Path) -> None:
    publisher.publish(
        None, tmp_path / "tree", Kind.daily, runner=kit.ConvertingRunner(), today=dt.date(2026, 11, 26)
    )
    assert summary_module().summary((tmp_path / "tree/index.html").read_text()) == [
        "nothing is published on this page"
    ]
