from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

Files = dict[str, "str | tuple[str, int]"]


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[str, Files], Path]:
    """Create a directory of files: {relpath: content} or {relpath: (content, mode)}."""

    def make(name: str, files: Files) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        for rel, spec in files.items():
            content, mode = (spec, 0o644) if isinstance(spec, str) else spec
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            os.chmod(path, mode)
        return root

    return make


from tests.unit.buildkit import setup  # noqa: E402,F401 - the simulated-build fixture for test_build and test_cache
