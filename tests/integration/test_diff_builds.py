"""Acceptance 1: `diff` on manifests of real builds."""

from __future__ import annotations

import json

import pytest

from tests.support import FIXTURES, cli

pytestmark = [pytest.mark.integration, pytest.mark.builds("default", "default-again", "default-extra")]

EXTRA = FIXTURES / "overlays" / "extra-package"


def test_same_inputs_same_day_report_no_content_change(builder, default_again) -> None:  # type: ignore[no-untyped-def]
    first = builder.image("default")
    again = default_again  # through an apt proxy: not a content change
    assert first.manifest["build"]["started"] != again.manifest["build"]["started"]
    proc = cli("diff", first.manifest_path, again.manifest_path, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["differs"] is False and result["reasons"] == []
    assert result["packages"] == {"added": [], "removed": [], "changed": []}
    assert result["classes"] == {"added": [], "removed": [], "reordered": False}
    assert not [layer for layer in result["layers"] if layer["content_changed"]]
    human = cli("diff", first.manifest_path, again.manifest_path)
    assert human.returncode == 0 and human.stdout.rstrip().endswith("content: same")


def test_one_extra_package_is_reported_exactly(builder) -> None:  # type: ignore[no-untyped-def]
    base = builder.image("default")
    extra = builder.image("default-extra")
    assert "hello" in extra.package_names() and "hello" not in base.package_names()
    proc = cli("diff", base.manifest_path, extra.manifest_path, "--json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    version = next(p["version"] for p in extra.manifest["packages"] if p["name"] == "hello")
    assert [(p["name"], p["old"], p["new"]) for p in result["packages"]["added"]] == [
        ("hello", None, version)
    ]
    assert result["packages"]["removed"] == [] and result["packages"]["changed"] == []
    assert result["classes"]["added"] == ["EXTRA_PACKAGE"] and result["classes"]["removed"] == []
    added = [la for la in result["layers"] if la["old_digest"] is None]
    assert [la["name"] for la in added] == ["extra-package"]
    human = cli("diff", base.manifest_path, extra.manifest_path)
    assert f"  + hello:{extra.manifest['image']['arch']} {version}" in human.stdout.splitlines()
