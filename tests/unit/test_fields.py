"""The field table: every field has a flag, a manifest key and a docs row, and each flows end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overlay.cli.main import build_parser
from overlay.definition import docs
from overlay.definition.fields import Cli
from overlay.definition.load import load_images
from overlay.definition.spec import ImageSpec, settings
from overlay.manifest import model
from tests.fixtures import publishkit as kit
from tests.support import REPO

# A value for each field's flag, and what the spec must then hold (by encoded manifest value).
FLAG_VALUES: dict[str, tuple[list[str], object]] = {
    "name": (["--name", "img-{arch}"], "img-{arch}"),
    "description": (["--description", "a demo image"], "a demo image"),
    "base": (["--base", "embedded"], "embedded"),
    "overlays": (["--overlay", "examples/hello"], [str(REPO / "examples/hello")]),
    "release": (["--release", "forky"], "forky"),
    "vendor": (["--vendor", "nocloud"], "nocloud"),
    "arch": (["--arch", "arm64"], "arm64"),
    "type": (["--type", "dev"], "dev"),
    "classes": (["--class", "MINE"], ["MINE"]),
    "drop_classes": (["--drop-class", "EXTRAS"], ["EXTRAS"]),
    "size": (["--size", "5G"], "5G"),
    "formats": (["--format", "tar.xz"], ["tar.xz"]),
    "variables": (["--var", "GREETING=hi"], {"GREETING": "hi"}),
    "version": (["--version", "7"], "7"),
    "build_id": (["--build-id", "ci"], "ci"),
    "date": (["--date", "20260101"], "20260101"),
    "mirror": (["--mirror", "http://m.example/debian"], "http://m.example/debian"),
    "security_mirror": (["--security-mirror", "http://m.example/sec"], "http://m.example/sec"),
    "apt_proxy": (["--apt-proxy", "http://127.0.0.1:3142"], "http://127.0.0.1:3142"),
    "cache": (["--cache", "offline"], "offline"),
    "cache_dir": (["--cache-dir", "/var/tmp/cache"], "/var/tmp/cache"),
    "host_ca": (["--no-host-ca"], False),
    "apt_max_age": (["--apt-max-age", "9"], 9),
    "backports": (["--backports"], True),
    "waive_tests": (["--waive-test", "test_x=because"], [{"test": "test_x", "reason": "because"}]),
}


def test_every_field_has_a_flag_a_manifest_key_and_help() -> None:
    keys = [s.key for s in settings()]
    assert len(keys) == len(set(keys)) and len({s.flag for s in settings()}) == len(keys)
    assert sorted(FLAG_VALUES) == sorted(keys), "add the new field to FLAG_VALUES"
    (spec,) = load_images(REPO / "examples/default.yaml")
    manifest_image = spec.to_json()
    for s in settings():
        assert s.flag.startswith("--") and s.help, s.key
        assert s.key in manifest_image, f"{s.key} is not in the manifest's image section"


@pytest.mark.parametrize("key", sorted(FLAG_VALUES))
def test_each_flag_reaches_the_spec_and_the_manifest(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from overlay.cli import args as common

    monkeypatch.chdir(REPO)
    argv, expected = FLAG_VALUES[key]
    args = build_parser().parse_args(["plan", "examples/default.yaml", *argv])
    (spec,) = load_images(REPO / "examples/default.yaml", common.overrides(args))
    got = spec.to_json()[key]
    if key == "overlays":  # the file's overlay comes first, the flag's is added
        assert got[-1:] == expected
    elif key == "variables":
        assert got["GREETING"] == "hi"
    else:
        assert got == expected


def test_manifest_round_trip_of_every_field(tmp_path: Path) -> None:
    (spec,) = load_images(REPO / "examples/default.yaml", {"waive_tests": [{"test": "t", "reason": "r"}]})
    doc = kit.manifest_doc()
    doc["image"] = spec.to_json()
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(doc))
    assert model.load(path).image == spec


def test_content_fields_are_what_diff_compares() -> None:
    content = {s.key for s in settings() if s.content}
    assert {"release", "vendor", "arch", "type", "size", "variables", "backports"} <= content
    assert not content & {"mirror", "apt_proxy", "apt_max_age", "version", "date", "formats"}


def test_docs_list_every_field_as_the_table_says() -> None:
    page = (REPO / "docs/image-definition.md").read_text()
    assert docs.render(page) == page, (
        "run: .venv/bin/python -m overlay.definition.docs docs/image-definition.md"
    )
    for s in settings():
        assert f"| `{s.key}` | `{s.flag}" in page


def test_toggle_and_list_kinds_are_declared_not_guessed() -> None:
    kinds = {s.key: s.cli for s in settings()}
    assert kinds["host_ca"] is Cli.toggle and kinds["overlays"] is Cli.append
    assert kinds["arch"] is Cli.replace_list and kinds["variables"] is Cli.merge
    assert [s.key for s in settings() if s.per_image] == ["arch"]
    assert ImageSpec.__dataclass_fields__["source"].metadata == {}
