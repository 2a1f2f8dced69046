"""The typed manifest: one reader for every verb; a wrong shape names the field path, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from overlay.core.errors import ExitCode, OverlayError
from overlay.manifest import model
from tests.fixtures import publishkit as kit


def load(tmp_path: Path, doc: Any) -> model.BuildManifest:
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(doc))
    return model.load(path)


def test_a_valid_manifest_reads_into_typed_objects(tmp_path: Path) -> None:
    m = load(tmp_path, kit.manifest_doc())
    assert m.name == kit.NAME and m.image.arch.name == "amd64" and m.image.release == "trixie"
    assert m.packages[1].name == "libc6" and m.packages[1].key == ("libc6", "amd64")
    assert m.layers[0].git is not None and m.layers[0].git.commit == "c0ffee"
    assert m.checks.excused_fai_failures == [] and m.outputs == []


def test_write_then_read_is_the_same(tmp_path: Path) -> None:
    m = load(tmp_path, kit.manifest_doc())
    model.write(tmp_path / "again.build.json", m)
    assert model.load(tmp_path / "again.build.json") == m
    assert not list(tmp_path.glob("*.tmp"))


def _mutate(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("packages", 3, "version"), 7, "packages[3].version: expected a string, got a number"),
        (("packages", 0, "name"), KeyError, "packages[0].name: is missing"),
        (("packages",), {"a": 1}, "packages: expected a list, got a mapping"),
        (("layers", 1, "git", "dirty"), "no", "layers[1].git.dirty: expected true or false"),
        (("build", "seconds"), "fast", "build.seconds: expected a number"),
        (("image", "arch"), "sparc", "image.arch: arch 'sparc' is not one of"),
        (("image", "vendor"), ["x"], "image.vendor: vendor must be a string"),
        (("image", "formats"), ["raw", "raw"], "image.formats[1]: format 'raw' is listed twice"),
        (("image", "variables"), {"MY_X": None}, "image.variables.MY_X: variable MY_X must be a string"),
        (
            ("image", "variables"),
            {"LD_PRELOAD": "x"},
            "image.variables.LD_PRELOAD: variable name 'LD_PRELOAD' is not",
        ),
        (("name",), "../../etc/x", "name: '../../etc/x' is not a safe image name"),
        (("source_packages", 0), "glibc", "source_packages[0]: expected a mapping, got a string"),
        (
            ("checks", "in_build_tests"),
            {"tests": "many"},
            "checks.in_build_tests.tests: expected an integer",
        ),
    ],
)
def test_wrong_shapes_name_the_field(
    tmp_path: Path, path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(OverlayError) as info:
        load(tmp_path, _mutate(kit.manifest_doc(), path, value))
    assert info.value.code is ExitCode.USAGE
    assert str(info.value).startswith(f"{tmp_path / 'm.build.json'}: {message}")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2]", "not a fai-overlay build manifest"),
        (b'{"kind": "Build"}', "not a fai-overlay build manifest"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"[" * 100000, "JSON nested too deeply"),
    ],
)
def test_files_that_are_no_manifest(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "m.build.json"
    path.write_bytes(content)
    with pytest.raises(OverlayError, match=message):
        model.load(path)


def test_missing_directory_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(OverlayError, match="file not found"):
        model.load(tmp_path / "nope.json")
    with pytest.raises(OverlayError, match="is a directory"):
        model.load(tmp_path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(OverlayError, match="larger than"):
        model.read_json(big, limit=1024)
