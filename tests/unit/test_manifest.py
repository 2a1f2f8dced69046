from __future__ import annotations

import json
import os
from pathlib import Path

from overlay.definition import load
from overlay.definition.load import load_images
from overlay.manifest import record as manifest
from overlay.manifest.model import SourcePackage
from tests.support import EXAMPLES


def test_layer_digest_covers_content_and_mode(tmp_path: Path) -> None:
    (tmp_path / "scripts/X").mkdir(parents=True)
    script = tmp_path / "scripts/X/10-a"
    script.write_text("#!/bin/sh\n")
    (tmp_path / "README.md").write_text("not part of the config space")
    first = manifest.layer_digest(tmp_path)
    (tmp_path / "README.md").write_text("changed")
    assert manifest.layer_digest(tmp_path) == first
    os.chmod(script, 0o755)
    second = manifest.layer_digest(tmp_path)
    assert second != first
    script.write_text("#!/bin/sh\necho\n")
    assert manifest.layer_digest(tmp_path) not in (first, second)
    assert first.startswith("sha256:")


def test_spec_round_trip() -> None:
    (spec,) = load_images(EXAMPLES / "default.yaml")
    again = load.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec


def test_packages_marked_by_origin(tmp_path: Path) -> None:
    (tmp_path / "packages.json").write_text(
        json.dumps(
            [
                {
                    "name": "a",
                    "version": "1",
                    "architecture": "amd64",
                    "source": "a",
                    "source_version": "1",
                    "origins": [{"suite": "stable", "codename": "trixie"}],
                },
                {
                    "name": "b",
                    "version": "2",
                    "architecture": "all",
                    "source": "bsrc",
                    "source_version": "2",
                    "origins": [{"suite": "stable-backports", "codename": "trixie-backports"}],
                },
                {
                    "name": "c",
                    "version": "3",
                    "architecture": "amd64",
                    "source": "bsrc",
                    "source_version": "2",
                    "origins": [],
                },
            ]
        )
    )
    pkgs = {p.name: p for p in manifest.load_packages(tmp_path, "trixie")}
    assert not pkgs["a"].not_stable and pkgs["a"].suites == ["trixie"]
    assert pkgs["b"].not_stable and pkgs["b"].suites == ["trixie-backports"]
    assert pkgs["c"].not_stable  # in no index at all: a local or vanished package
    assert manifest.source_packages(list(pkgs.values())) == [
        SourcePackage("a", "1"),
        SourcePackage("bsrc", "2"),
    ]
