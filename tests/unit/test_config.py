from __future__ import annotations

from pathlib import Path

import pytest

from overlay.core import arches
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from overlay.definition.spec import BuildType, Format, Vendor


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "image.yaml"
    path.write_text(text)
    return path


def test_defaults_and_types(tmp_path: Path) -> None:
    (tmp_path / "ov").mkdir()
    (spec,) = load_images(write(tmp_path, "release: trixie\nvendor: nocloud\noverlays: [ov]\n"))
    assert spec.vendor is Vendor.nocloud and spec.arch == arches.host() and spec.type is BuildType.official
    assert spec.formats == (Format.raw, Format.qcow2)
    assert spec.overlays == ((tmp_path / "ov").resolve(),)
    assert spec.name == "debian-trixie-nocloud-amd64"
    assert spec.release_version == f"{spec.date}-1"


def test_one_spec_per_architecture(tmp_path: Path) -> None:
    specs = load_images(write(tmp_path, "release: trixie\narch: [amd64, arm64]\n"))
    assert [s.arch.name for s in specs] == ["amd64", "arm64"]
    assert [s.name for s in specs] == [
        "debian-trixie-genericcloud-amd64",
        "debian-trixie-genericcloud-arm64",
    ]


def test_command_line_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "release: trixie\nvendor: generic\nclasses: [A]\nvariables: {X: '1'}\n")
    (spec,) = load_images(
        path, {"vendor": "nocloud", "classes": ["B"], "variables": {"Y": "2"}, "arch": ["ppc64el"]}
    )
    assert spec.vendor is Vendor.nocloud and spec.arch.name == "ppc64el"
    assert spec.classes == ("A", "B")
    assert dict(spec.variables) == {"X": "1", "Y": "2"}


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            "release: trixie\nvendor: cloudy\n",
            2,
            "vendor 'cloudy' is not one of: generic, genericcloud, nocloud",
        ),
        ("release: trixie\n\narch: sparc\n", 3, "arch 'sparc' is not one of"),
        ("release: trixie\nsize: big\n", 2, "size 'big' is not a size"),
        ("release: trixie\nformats: [raw, vmdk]\n", 2, "formats[1] 'vmdk' is not one of"),
        ("release: trixie\nclasses:\n  - GOOD\n  - my-class\n", 4, "class name 'my-class' is invalid"),
        ("release: trixie\nvariabels: {}\n", 2, "unknown key 'variabels'"),
        ("release: trixie\nvariables:\n  path: x\n", 3, "variable name 'path' is not allowed"),
        ("release: trixie\noverlays: [nope]\n", 2, "overlay directory"),
        ("release: trixie\nmirror: ftp://x\n", 2, "mirror must be an http://"),
        ("release: trixie\nwaive_tests: [x]\n", 2, "each waiver needs exactly 'test' and 'reason'"),
        ("release: [trixie\n", 2, "invalid YAML"),
        ("release: trixie\nrelease: forky\n", 2, "key 'release' appears twice"),
        ("release: trixie\narch: [amd64, arm64]\nname: fixed\n", 3, "several architectures need '{arch}'"),
        ("release: trixie\nbase: ${FAI_OVERLAY_UNSET_FOR_TEST}/cs\n", 2, "uses $FAI_OVERLAY_UNSET_FOR_TEST"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(OverlayError) as info:
        load_images(path)
    err = info.value
    assert needle in err.message
    assert err.path == path and err.line == line
    assert str(err).startswith(f"{path}:{line}: ")


def test_error_hint_present(tmp_path: Path) -> None:
    with pytest.raises(OverlayError) as info:
        load_images(write(tmp_path, "release: trixie\nsize: big\n"))
    assert info.value.hint == "write it like 3G or 2048M"


def test_override_errors_name_the_flag(tmp_path: Path) -> None:
    with pytest.raises(OverlayError) as info:
        load_images(write(tmp_path, "release: trixie\n"), {"size": "huge"})
    assert str(info.value).startswith("--size: size 'huge' is not a size")


def test_name_template_unknown_field(tmp_path: Path) -> None:
    with pytest.raises(OverlayError, match=r"uses unknown field 'flavour'"):
        load_images(write(tmp_path, "release: trixie\nname: 'x-{flavour}'\n"))


def test_waivers_parsed(tmp_path: Path) -> None:
    text = "release: trixie\nwaive_tests:\n  - {test: 'test_group_name[clock]', reason: udev 257 adds it}\n"
    (spec,) = load_images(write(tmp_path, text))
    assert spec.waivers[0].test == "test_group_name[clock]"
    assert spec.waivers[0].reason == "udev 257 adds it"
