"""Tree helpers: version ordering, sparse copies, SHA512SUMS, the latest link."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from pathlib import Path

from overlay.publish import tree
from overlay.publish.tree import VersionId


def test_versions_sort_by_date_then_number(tmp_path: Path) -> None:
    for name in ("20261126-9", "20261126-10", "20261125-30", ".20261126-11.partial", "latest", "junk"):
        (tmp_path / name).mkdir()
    assert [str(v) for v in tree.versions(tmp_path)] == ["20261125-30", "20261126-9", "20261126-10"]
    assert str(tree.next_version(tmp_path, dt.date(2026, 11, 26))) == "20261126-11"
    assert str(tree.next_version(tmp_path, dt.date(2026, 11, 27))) == "20261127-1"
    assert [p.name for p in tree.leftovers(tmp_path)] == [".20261126-11.partial"]
    assert VersionId.parse("2026-11-26") is None


def test_copy_sparse_keeps_holes_and_hashes_content(tmp_path: Path) -> None:
    src = tmp_path / "disk.raw"
    with src.open("wb") as f:
        f.write(b"head")
        f.seek(64 << 20)
        f.write(b"tail")
        f.truncate(128 << 20)  # ends in a hole
    dest = tmp_path / "copy.raw"
    digest = tree.copy_sparse(src, dest)
    assert dest.read_bytes() == src.read_bytes()
    assert digest == hashlib.sha512(src.read_bytes()).hexdigest()
    assert dest.stat().st_blocks * 512 < 1 << 20


def test_sums_and_latest(tmp_path: Path) -> None:
    vdir = tmp_path / "20261126-1"
    (vdir / "logs").mkdir(parents=True)
    (vdir / "img-20261126-1.qcow2").write_bytes(b"q")
    (vdir / "logs/a.log").write_text("x")
    sums = tree.write_sums(vdir, {"img-20261126-1.qcow2": "f" * 128})
    assert sums["img-20261126-1.qcow2"] == "f" * 128  # taken as given, not re-hashed
    tree.write_sums(vdir)
    tree.write_latest_dir(vdir, {"img.qcow2": "img-20261126-1.qcow2"}, tree.write_sums(vdir))
    tree.freeze(vdir)
    ok = subprocess.run(
        ["sha512sum", "-c", "--strict", "SHA512SUMS"], cwd=vdir, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "logs/a.log: OK" in ok.stdout
    assert tree.point_latest(tmp_path) == VersionId("20261126", 1)
    assert os.readlink(tmp_path / "latest") == "20261126-1/.latest"
    assert (tmp_path / "latest/img.qcow2").read_bytes() == b"q"
    assert oct((vdir / "logs/a.log").stat().st_mode & 0o777) == "0o444"
