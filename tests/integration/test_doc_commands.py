"""The doc commands that need no root and no build run as written, from the directory the doc implies.

plan, compose and ci run from the repository (their paths are examples/…); diff,
check-updates and `publish --dry-run` run in a directory holding `out/` and
`old/` build outputs, as docs/publishing.md assumes. A `$ fai-overlay …` line
must print the output the page shows after it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.doccommands import DocCommand, commands
from tests.fixtures import publishkit as kit
from tests.support import REPO, cli

pytestmark = pytest.mark.integration

RUNNABLE = {"plan", "compose", "ci", "diff", "check-updates"}


def runnable(c: DocCommand) -> bool:
    verb = c.argv[1]
    if any("$" in w for w in c.argv):
        return False  # a script's placeholder
    return verb in RUNNABLE or (verb == "publish" and "--dry-run" in c.argv)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """out/ and old/ as docs/publishing.md assumes them: a build and an older one of the same image."""
    root = tmp_path_factory.mktemp("docs")
    kit.write_build(root / "old", kit.manifest_doc())
    kit.write_build(
        root / "out",
        kit.manifest_doc(packages=[*kit.manifest_doc()["packages"], kit.package("hello", "2.10-5")]),
    )
    return root


@pytest.mark.parametrize("command", [c for c in commands() if runnable(c)], ids=str)
def test_doc_command_runs(command: DocCommand, workdir: Path) -> None:
    env = dict(command.env)
    if "FAI_OVERLAY_DCI" in env:
        if not os.environ.get("FAI_OVERLAY_DCI"):
            pytest.skip("needs a debian-cloud-images checkout (FAI_OVERLAY_DCI)")
        env["FAI_OVERLAY_DCI"] = os.environ["FAI_OVERLAY_DCI"]
    cwd = workdir if command.argv[1] in ("diff", "check-updates", "publish") else REPO
    proc = cli(*command.argv[1:], env=env, cwd=cwd)
    if command.shown is not None:
        assert proc.stderr.strip().splitlines()[-1] == command.shown, (
            f"{command}: the page shows other output"
        )
        return
    assert proc.returncode in (0, 3, 10, 20), f"{command}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    if command.argv[1] == "compose":
        shutil.rmtree(command.argv[command.argv.index("-o") + 1], ignore_errors=True)
