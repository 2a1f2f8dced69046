"""The package installs without the source tree: a wheel in a fresh venv plans and composes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EXAMPLES, REPO, cli

pytestmark = pytest.mark.integration


def run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=900)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout with fai-overlay installed from a freshly built wheel."""
    root = tmp_path_factory.mktemp("wheel")
    source = (
        root / "source"
    )  # a clean copy of the committed tree: the build writes nothing into the checkout
    source.mkdir()
    archive = subprocess.run(["git", "-C", REPO, "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", source], input=archive, check=True)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", source)
    (wheel,) = (root / "dist").glob("fai_overlay-*.whl")
    run("/usr/bin/python3", "-m", "venv", root / "venv")
    run(root / "venv/bin/pip", "install", "-q", wheel)
    return root


def test_the_wheel_plans_the_default_image_from_another_directory(installed: Path) -> None:
    elsewhere = installed / "elsewhere"
    shutil.copytree(EXAMPLES, elsewhere / "examples")
    proc = run(installed / "venv/bin/fai-overlay", "plan", "examples/default.yaml", "--json", cwd=elsewhere)
    plan = json.loads(proc.stdout)
    base = Path(plan["base"]["config_space"])
    assert base.is_relative_to(installed / "venv") and not base.is_relative_to(REPO)
    assert [c["name"] for c in plan["classes"]][-2:] == ["HELLO", "LAST"]
    assert plan["layers"][1]["path"] == str(elsewhere / "examples/hello")


def test_the_wheel_holds_the_whole_embedded_base(installed: Path, tmp_path: Path) -> None:
    """Composing from the wheel gives the same files, modes and hashes as composing from the checkout."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    tool = installed / "venv/bin/fai-overlay"
    run(tool, "-q", "compose", "examples/default.yaml", "-o", "w", cwd=tmp_path)
    proc = cli("-q", "compose", EXAMPLES / "default.yaml", "-o", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr

    def files(out: Path) -> dict[str, tuple[object, object]]:
        record = json.loads((out / "compose.json").read_text())["files"]
        return {p: (f["sha256"], f["mode"]) for p, f in record.items() if f["layer"] != "hello"}

    assert files(tmp_path / "w") == files(tmp_path / "c")
