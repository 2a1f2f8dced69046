"""diff: what counts as image content, the report, and the exit code (0 same, 3 differs)."""

from __future__ import annotations

import json
from pathlib import Path

from overlay.publish import diff
from tests.fixtures import publishkit as kit
from tests.support import cli


def test_same_inputs_rebuilt_are_the_same_content() -> None:
    a = kit.manifest_doc()
    b = kit.manifest_doc(started="2026-11-27T03:00:00+00:00", host="elsewhere")
    b["layers"][0]["git"]["commit"] = "deadbeef"  # a new commit that did not change the layer
    b["outputs"] = [{"file": "x.raw", "format": "raw", "size": 1, "allocated": 0, "sha512": "00"}]
    result = diff.compare(kit.typed(a), kit.typed(b))
    assert not result.differs and result.reasons() == []
    assert [(c.name, c.content_changed) for c in result.layers] == [("base_classes", False)]


def test_one_extra_package_is_reported_exactly() -> None:
    a = kit.manifest_doc()
    b = kit.manifest_doc(packages=[*a["packages"], kit.package("hello", "2.10-5")])
    result = diff.compare(kit.typed(a), kit.typed(b))
    assert result.differs
    assert [(c.name, c.architecture, c.old, c.new) for c in result.added] == [
        ("hello", "amd64", None, "2.10-5")
    ]
    assert result.removed == [] and result.changed == []
    assert "  + hello:amd64 2.10-5" in diff.render(result).splitlines()


def test_changed_removed_classes_layers_and_settings() -> None:
    a = kit.manifest_doc()
    pkgs = [p for p in a["packages"] if p["name"] != "jq"]
    pkgs[1] = {**pkgs[1], "version": "2.41-12+deb13u1"}
    b = kit.manifest_doc(
        packages=pkgs,
        classes=("DEBIAN", "TRIXIE", "CLOUD", "LAST", "EXTRA"),
        layers={"base_classes": "sha256:aa", "hello": "sha256:cc"},
    )
    b["image"]["size"] = "8G"
    result = diff.compare(kit.typed(a), kit.typed(b))
    assert [(c.name, c.old, c.new) for c in result.changed] == [("libc6", "2.41-12", "2.41-12+deb13u1")]
    assert [c.name for c in result.removed] == ["jq"]
    assert result.classes_added == ["EXTRA"] and result.classes_reordered
    assert [c.name for c in result.layers if c.content_changed] == ["hello"]
    assert [(s.key, s.old, s.new) for s in result.settings] == [("size", None, "8G")]
    data = result.to_json()
    assert data["differs"] and data["packages"]["removed"][0]["old"] == "1.7.1-6"


def test_multiarch_packages_are_told_apart() -> None:
    a = kit.manifest_doc(packages=[kit.package("libc6", "2.41-12", "amd64")])
    b = kit.manifest_doc(
        packages=[kit.package("libc6", "2.41-12", "amd64"), kit.package("libc6", "2.41-12", "i386")]
    )
    assert [(c.name, c.architecture) for c in diff.compare(kit.typed(a), kit.typed(b)).added] == [
        ("libc6", "i386")
    ]


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.build.json", tmp_path / "b.build.json", tmp_path / "c.build.json"
    a.write_text(json.dumps(kit.manifest_doc()))
    b.write_text(json.dumps(kit.manifest_doc(host="other")))
    c.write_text(json.dumps(kit.manifest_doc(classes=("DEBIAN",))))
    same = cli("diff", a, b)
    assert same.returncode == 0 and same.stdout.strip().endswith("content: same")
    differs = cli("diff", a, c, "--json")
    assert differs.returncode == 3
    assert json.loads(differs.stdout)["classes"]["removed"] == ["CLOUD", "TRIXIE", "LAST"]
    missing = cli("diff", a, tmp_path / "nope.build.json")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"fai-overlay: error: {tmp_path / 'nope.build.json'}: file not found (hint: check the path)"
    )
