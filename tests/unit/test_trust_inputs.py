"""Hostile definitions and overlay.yaml files end in one clear error, fast and in little memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from overlay.build.plan import make_plan
from overlay.compose import overlaydef
from overlay.core import yamlsrc
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from tests.support import EXAMPLES

BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
)


def error_of(tmp_path: Path, text: str | bytes, overrides: dict[str, object] | None = None) -> OverlayError:
    path = tmp_path / "image.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    t0 = time.monotonic()
    with pytest.raises(OverlayError) as info:
        for spec in load_images(path, overrides):
            make_plan(spec, tmp_path / "out")
    assert time.monotonic() - t0 < 2, "a bad input must be refused within a second or two"
    assert not (tmp_path / "out").exists(), "nothing may be created for a refused input"
    return info.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "YAML anchors and aliases are not supported"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        ("release: trixie\n" + "#" * (2 << 20) + "\n", "larger than 1024 KiB"),
        (b"release: trixie\nvendor: \xff\xfe\n", "not UTF-8 text"),
        ('name: "x{arch:>100000000}"\n', "has a format it does not allow"),
        ('name: "{arch.__class__}"\n', "must be a plain field name"),
        ('name: "{arch!r}"\n', "must be a plain field name"),
        ("name: x-{GREETING}\nvariables: {GREETING: '" + "y" * 300 + "'}\n", "longer than 200 characters"),
        ("name: '{'\n", "is not valid"),
        ("variables: {LD_PRELOAD: /tmp/x.so}\n", "variable name 'LD_PRELOAD' is not allowed"),
        ("variables: {BASH_ENV: /tmp/x}\n", "variable name 'BASH_ENV' is not allowed"),
        ("variables: {IFS: x}\n", "variable name 'IFS' is not allowed"),
        ("variables: {PATH: /tmp}\n", "variable name 'PATH' is not allowed"),
        ("variables: {PYTHONPATH: /tmp}\n", "variable name 'PYTHONPATH' is not allowed"),
        ("variables: {FAI_ACTION: sysinfo}\n", "variable name 'FAI_ACTION' is not allowed"),
        ("variables: {CLOUD_BUILD_NAME: x}\n", "variable name 'CLOUD_BUILD_NAME' is not allowed"),
        ("variables: {HTTPS_PROXY: http://evil}\n", "variable name 'HTTPS_PROXY' is not allowed"),
        ("variables: {X: null}\n", "variable X must be a string, number or boolean"),
        ("variables: {X: [1]}\n", "variable X must be a string, number or boolean"),
        ("formats: [raw, raw]\n", "format 'raw' is listed twice"),
        ("formats: []\n", "formats must name at least one format"),
        ("arch: [amd64, amd64]\nname: 'x-{arch}'\n", "arch 'amd64' is listed twice"),
        ("size: 512M\n", "size 512M is too small for a Debian image"),
        ("size: 9999999G\n", "size 9999999G is absurd"),
        ("version: {a: 1}\n", "version must be a string, got dict"),
        ("build_id: [x]\n", "build_id must be a string, got list"),
        ("release: 2026-01-01\n", "release must be a string, got date"),
        ("date: 2026\n", "date '2026' is not YYYYMMDD"),
        ("release: bookworm\n", "release 'bookworm' is not defined by the base_classes base"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        (
            "!!python/object:os.system {}\n",
            "YAML tag tag:yaml.org,2002:python/object:os.system is not supported",
        ),
        ("release: !!python/name:os.system ''\n", "invalid YAML value"),
        ('base: "\\0"\n', "path contains a NUL character"),
        ('overlays: ["hello\\0"]\n', "path contains a NUL character"),
    ],
)
def test_hostile_definition(tmp_path: Path, text: str | bytes, message: str) -> None:
    err = error_of(tmp_path, text)
    assert message in err.message
    assert err.path == tmp_path / "image.yaml" and "\n" not in str(err)


def test_a_refused_flag_names_the_flag(tmp_path: Path) -> None:
    err = error_of(tmp_path, "release: trixie\n", {"variables": {"LD_AUDIT": "x"}})
    assert str(err).startswith("--var: variable name 'LD_AUDIT' is not allowed")
    err = error_of(tmp_path, "release: trixie\n", {"release": "bookworm"})
    assert str(err).startswith("--release: release 'bookworm' is not defined")


def test_a_relative_flag_path_is_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine/files").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    (spec,) = load_images(EXAMPLES / "default.yaml", {"overlays": ["mine"]})
    assert spec.overlays == (EXAMPLES / "hello", tmp_path / "mine")
    err = error_of(tmp_path, f"overlays: [{EXAMPLES / 'hello'}]\n", {"overlays": ["nowhere"]})
    assert str(err).startswith(f"--overlay: overlay directory {tmp_path / 'nowhere'} does not exist")
    assert "the current directory" in (err.hint or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("variables: {LD_PRELOAD: x}\n", "variable name 'LD_PRELOAD' is not allowed"),
        ("variables: {GOOD: null}\n", "variable GOOD must be a string, number or boolean"),
        ("name: [a]\n", "'name' must be a string"),
        ("name: '../x'\n", "overlay name '../x' must be a simple word"),
        ("description: {a: 1}\n", "'description' must be a string"),
        ("provides: [my-class]\n", "class name 'my-class' is invalid"),
        ("replaces: [../../etc/passwd]\n", "escapes the config space"),
        ("allow: {users: root}\n", "allow must map users, groups, var_log"),
        (BOMB, "YAML anchors and aliases are not supported"),
        ("bogus: 1\n", "unknown key 'bogus'"),
    ],
)
def test_hostile_overlay_yaml(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "ov").mkdir()
    (tmp_path / "ov/overlay.yaml").write_text(text)
    with pytest.raises(OverlayError) as info:
        overlaydef.load(tmp_path / "ov")
    assert message in info.value.message and info.value.path == tmp_path / "ov/overlay.yaml"


def test_yaml_reader_refuses_what_it_cannot_place(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("? [complex, key]\n: value\n")
    with pytest.raises(OverlayError, match="mapping keys must be plain names"):
        yamlsrc.load(path)
    with pytest.raises(OverlayError, match="is a directory"):
        yamlsrc.load(tmp_path)
