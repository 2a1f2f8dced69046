"""Files of installed packages are what dpkg installed (its md5sums), conffiles aside."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from overlay.verify import dpkgdb

pytestmark = pytest.mark.offline


def test_package_files_match_dpkg_md5sums(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    allowed = fo.allowed("modified_files")
    bad = [
        m
        for m in dpkgdb.verify(dpkgdb.database(image_root))
        if not any(fnmatch.fnmatchcase(m.path, p) for p in allowed)
    ]
    shown = "; ".join(map(str, bad[:20])) + (f"; … and {len(bad) - 20} more" if len(bad) > 20 else "")
    assert not bad, (
        f"{len(bad)} files of installed packages are not what dpkg installed (its md5sums, conffiles "
        f"aside): {shown}; allow one with allow: {{modified_files: [PATH]}}"
    )
