"""The bench scripts say how to run them when started with a Python that lacks fai-overlay's dependencies."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import REPO


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "bench").iterdir() if p.is_file()))
def test_a_bench_script_under_a_bare_python_says_what_to_do(script: str) -> None:
    proc = subprocess.run(
        ["/usr/bin/python3", "-S", f"bench/{script}"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == f"bench/{script}: run it with the venv's Python: .venv/bin/python bench/{script}"
    )
