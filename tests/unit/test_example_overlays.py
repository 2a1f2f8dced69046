"""The example overlays' own tests import (they run in `fai-overlay test` and `boot`, far from here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.support import EXAMPLES

MODULES = sorted(EXAMPLES.glob("*/tests/test_*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_overlay_test_module_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert [name for name in vars(module) if name.startswith("test_")], f"{path} has no tests"


def test_there_are_example_tests() -> None:
    assert len(MODULES) >= 5
