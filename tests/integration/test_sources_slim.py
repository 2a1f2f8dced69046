"""Acceptance 3: `sources` for the slim image downloads and verifies every source package."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
from debian.deb822 import Dsc

from tests.support import EXAMPLES, cli

pytestmark = pytest.mark.integration

SLIM = EXAMPLES / "slim.yaml"  # the slim blend's image definition


def test_slim_sources_all_downloaded_and_verified(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = builder.build(SLIM, key="slim")
    wanted = {(s["name"], s["version"]) for s in built.manifest["source_packages"]}
    proc = cli("sources", built.manifest_path, "-o", tmp_path, "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    index = json.loads(proc.stdout)
    assert index["missing"] == [] and index["count"] == len(wanted) == index["expected"]
    assert {(p["name"], p["version"]) for p in index["packages"]} == wanted
    bundle = tmp_path / f"{built.name}.sources"
    # verify every file against its .dsc, independently (python-debian's own parser)
    for pkg in index["packages"]:
        dsc_name = Path(pkg["dsc"]).name
        dsc = Dsc((bundle / dsc_name).read_text())
        assert dsc["Source"] == pkg["name"]
        for entry in dsc["Checksums-Sha256"]:
            data = (bundle / entry["name"]).read_bytes()
            assert len(data) == int(entry["size"]), entry["name"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
    with tarfile.open(tmp_path / f"{built.name}.sources.tar") as tar:
        members = {Path(n).name for n in tar.getnames()}
    assert {Path(p["dsc"]).name for p in index["packages"]} <= members
    assert f"{built.name}.sources.json" in members
    lines = (tmp_path / f"{built.name}.sources.txt").read_text().splitlines()
    assert len([line for line in lines if not line.startswith("#")]) == len(wanted)


def test_a_missing_version_is_reported_not_skipped(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = builder.build(EXAMPLES / "default.yaml", key="default")
    doc = built.manifest
    real = [s for s in doc["source_packages"] if s["name"] in ("hello", "base-files", "debianutils")]
    doc["source_packages"] = [*real, {"name": "base-files", "version": "0.0.1-1"}]
    manifest = tmp_path / "m.build.json"
    manifest.write_text(json.dumps(doc))
    proc = cli("sources", manifest, "-o", tmp_path / "out", "--json")
    assert proc.returncode == 1
    index = json.loads(proc.stdout)
    missing = [(m["name"], m["version"]) for m in index["missing"]]
    assert ("base-files", "0.0.1-1") in missing
    # nothing dropped silently: every source is either fetched or reported, each on stderr
    assert index["count"] + len(missing) == index["expected"] == len(real) + 1
    for name, version in missing:
        assert f"missing source: {name} {version}: " in proc.stderr
    assert "snapshot.debian.org" in proc.stderr
