"""Bad input to the publication verbs exits 2 with one line, never 1 with an internal error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.fixtures import publishkit as kit
from tests.support import cli


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "a.build.json"
    path.write_text(json.dumps(kit.manifest_doc()))
    return path


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ("array.json", "not a fai-overlay build manifest"),
        ("image.raw", "not UTF-8 text"),
        ("dir", "is a directory, expected a JSON file"),
        ("missing.json", "file not found"),
    ],
)
def test_diff_of_something_that_is_not_a_manifest(
    tmp_path: Path, manifest: Path, other: str, message: str
) -> None:
    (tmp_path / "array.json").write_text("[1, 2, 3]")
    (tmp_path / "image.raw").write_bytes(b"\x00\xff" * 1000)
    (tmp_path / "dir").mkdir()
    proc = cli("diff", manifest, tmp_path / other)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize("verb", ["check-updates", "sources"])
def test_a_mirror_that_is_not_a_url(tmp_path: Path, manifest: Path, verb: str) -> None:
    extra = ["-o", str(tmp_path / "src")] if verb == "sources" else []
    proc = cli(verb, manifest, "--mirror", "not-a-url", *extra)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "fai-overlay: error: --mirror: mirror must be an http://, https:// or file:// URL, got 'not-a-url'"
    )
    assert not (tmp_path / "src").exists()


def test_output_locations_that_cannot_be(tmp_path: Path, manifest: Path) -> None:
    (tmp_path / "file").write_text("x")
    cases = [
        ("build", "examples/default.yaml", "-o", tmp_path / "file"),
        ("compose", "examples/default.yaml", "-o", tmp_path / "file/sub"),
        ("sources", manifest, "-o", tmp_path / "file"),
        ("publish", tmp_path, "--to", tmp_path / "file"),
    ]
    for verb, first, flag, where in cases:
        proc = cli(verb, first, flag, where)
        assert proc.returncode == 2, (verb, proc.stderr)
        assert f"{flag} {where}" in proc.stderr.strip().splitlines()[-1], (verb, proc.stderr)


def test_publish_dry_run_says_each_thing_once(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    old = (dt.date.today() - dt.timedelta(days=90)).strftime("%Y%m%d")
    for version in (f"{old}-1", f"{old}-2"):
        (root / "trixie/daily" / version).mkdir(parents=True)
    proc = cli("publish", "--to", root, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "would delete" in ln]
    assert lines == [f"would delete trixie/daily/{old}-1 (90 days old)"]
    assert sorted(p.name for p in (root / "trixie/daily").iterdir()) == [f"{old}-1", f"{old}-2"]


def test_a_masked_proxy_is_asked_for_not_used(tmp_path: Path) -> None:
    doc = kit.manifest_doc()
    doc["image"]["apt_proxy"] = "http://***@127.0.0.1:3128"
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(doc))
    proc = cli("check-updates", path)
    assert proc.returncode == 2
    assert (
        "whose credentials the manifest does not keep (hint: give the proxy again: --apt-proxy URL)"
        in proc.stderr
    )


def test_a_hostile_mirror_cannot_exhaust_memory_or_disk(tmp_path: Path) -> None:
    import lzma

    from overlay.core.errors import OverlayError
    from overlay.publish import fetch

    bomb = lzma.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in a few KiB
    with pytest.raises(OverlayError, match="unpacks to more than 1 MiB"):
        fetch.decompress("Packages.xz", bomb, limit=1 << 20)
    assert len(fetch.decompress("Packages.xz", bomb)) == 8 << 20
    with pytest.raises(OverlayError, match="corrupt index"):
        fetch.decompress("Sources.gz", b"not gzip")

    class Endless(fetch.Fetcher):
        def _open(self, url: str):  # type: ignore[no-untyped-def]
            import io

            return io.BytesIO(b"x" * (3 << 20))

    with pytest.raises(OverlayError, match="larger than the 1048576 bytes expected"):
        Endless().get("http://mirror/x", limit=1 << 20)
    with pytest.raises(OverlayError, match="larger than the 100 bytes expected"):
        Endless().download("http://mirror/x.tar.xz", tmp_path / "x.tar.xz", limit=100)
    assert list(tmp_path.iterdir()) == []
