"""The example overlays' own tests import (they run in `fai-overlay test` and `boot`, far from here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from overlay.build.plan import make_plan
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from tests.support import EXAMPLES

MODULES = sorted(EXAMPLES.glob("*/tests/test_*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_overlay_test_module_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as pytest imports it: dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert [name for name in vars(module) if name.startswith("test_")], f"{path} has no tests"


def test_there_are_example_tests() -> None:
    assert len(MODULES) >= 5


def test_the_amphora_blend_and_slim_are_refused_together(tmp_path: Path) -> None:
    """octavia-agent depends on packages slim removes: plan says so instead of a failed build."""
    (spec,) = load_images(EXAMPLES / "octavia-amphora.yaml", {"overlays": [str(EXAMPLES / "slim")]})
    with pytest.raises(OverlayError, match="'octavia-amphora' cannot be combined with class SLIM: "):
        make_plan(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()
