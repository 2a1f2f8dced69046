"""Composition: order, provenance, and every error case of the foundation issue (§4)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from overlay.compose import overlaydef
from overlay.compose.merge import Layer, LayerKind, check_requires, collect
from overlay.compose.write import compose
from overlay.core.errors import OverlayError

Maker = Callable[..., Path]
EXE = 0o755


def base(make_tree: Maker) -> Layer:
    root = make_tree(
        "base",
        {
            "package_config/DEBIAN": "PACKAGES install-norec\nvim\n",
            "files/etc/motd/DEBIAN": "base motd\n",
            "hooks/setup.BASE.sh": ("skiptask chboot\n", EXE),
            "scripts/DEBIAN/10-files": ("#!/bin/sh\n", EXE),
            "class/DEBIAN.var": "SUITE=trixie\n",
        },
    )
    return Layer("base", LayerKind.base, root)


def overlay(make_tree: Maker, name: str, files: dict[str, object], yaml: str | None = None) -> Layer:
    spec = dict(files)
    if yaml is not None:
        spec["overlay.yaml"] = yaml
    root = make_tree(name, spec)
    return Layer(name, LayerKind.overlay, root, overlaydef.load(root))


def test_order_later_layer_wins_when_it_replaces(make_tree: Maker, tmp_path: Path) -> None:
    layers = [
        base(make_tree),
        overlay(
            make_tree,
            "one",
            {"files/etc/motd/DEBIAN": "one\n", "package_config/ONE": "PACKAGES install\nhtop\n"},
            "replaces: [files/etc/motd/DEBIAN]\n",
        ),
        overlay(make_tree, "two", {"files/etc/motd/DEBIAN": "two\n"}, "replaces: [files/etc/motd/DEBIAN]\n"),
    ]
    result = compose(layers, tmp_path / "out" / "cspace", {}, [])
    assert (result.root / "files/etc/motd/DEBIAN").read_text() == "two\n"
    record = json.loads(result.record.read_text())
    motd = record["files"]["files/etc/motd/DEBIAN"]
    assert motd["layer"] == "two" and motd["replaces"] == ["base", "one"]
    assert record["files"]["package_config/ONE"]["layer"] == "one"
    assert record["files"]["package_config/DEBIAN"]["layer"] == "base"
    assert [la["name"] for la in record["layers"]] == ["base", "one", "two"]
    assert result.record == tmp_path / "out" / "compose.json"


def test_every_file_has_origin_and_sha256(make_tree: Maker, tmp_path: Path) -> None:
    result = compose([base(make_tree)], tmp_path / "cspace", {}, [])
    import hashlib

    for rel, entry in result.files.items():
        assert entry["layer"] == "base"
        assert entry["sha256"] == hashlib.sha256((result.root / rel).read_bytes()).hexdigest()


def test_inputs_are_never_modified(make_tree: Maker, tmp_path: Path) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"files/etc/x/OV.j2": "v={{ V }}\n"})]
    before = {p: p.read_bytes() for la in layers for p in la.root.rglob("*") if p.is_file()}
    compose(layers, tmp_path / "cspace", {"V": "1"}, [])
    after = {p: p.read_bytes() for la in layers for p in la.root.rglob("*") if p.is_file()}
    assert before == after


def test_modes_are_kept(make_tree: Maker, tmp_path: Path) -> None:
    result = compose([base(make_tree)], tmp_path / "cspace", {}, [])
    assert os.stat(result.root / "scripts/DEBIAN/10-files").st_mode & 0o777 == 0o755
    assert result.files["scripts/DEBIAN/10-files"]["mode"] == "0755"


def test_templates_are_rendered_from_variables(make_tree: Maker, tmp_path: Path) -> None:
    layers = [
        base(make_tree),
        overlay(make_tree, "ov", {"files/etc/greeting/OV.j2": "{{ GREETING }} {{ release }}\n"}),
    ]
    result = compose(layers, tmp_path / "cspace", {"GREETING": "hi", "release": "trixie"}, [])
    assert (result.root / "files/etc/greeting/OV").read_text() == "hi trixie\n"
    assert result.files["files/etc/greeting/OV"]["rendered_from"] == "OV.j2"


def test_template_with_undefined_variable(make_tree: Maker, tmp_path: Path) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"files/etc/greeting/OV.j2": "{{ NOPE }}\n"})]
    with pytest.raises(OverlayError, match="undefined variable: 'NOPE' is undefined") as info:
        compose(layers, tmp_path / "cspace", {}, [])
    assert info.value.path is not None and info.value.path.name == "OV.j2"


# --- the error cases of §4, one test each --------------------------------------------------------


def test_conflict_without_replaces(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"files/etc/motd/DEBIAN": "mine\n"})]
    with pytest.raises(OverlayError) as info:
        collect(layers)
    msg = str(info.value)
    assert "files/etc/motd/DEBIAN is provided by both 'base'" in msg and "'ov'" in msg
    assert "add 'files/etc/motd/DEBIAN' to 'replaces'" in msg


def test_hook_not_executable(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"hooks/configure.MINE": "#!/bin/sh\n"})]
    with pytest.raises(OverlayError, match="hook is not executable") as info:
        collect(layers)
    assert info.value.path is not None and info.value.path.name == "configure.MINE"
    assert "chmod +x" in (info.value.hint or "")


def test_script_not_executable(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"scripts/MINE/10-do": "#!/bin/sh\n"})]
    with pytest.raises(OverlayError, match="script is not executable"):
        collect(layers)


@pytest.mark.parametrize(
    ("rel", "bad"),
    [
        ("package_config/my-class", "my-class"),
        ("class/MY.CLASS.var", "MY.CLASS"),
        ("files/etc/foo/MY#CLASS", "MY#CLASS"),
        ("scripts/my-scripts/10-x", "my-scripts"),
        ("hooks/configure.MY-CLASS", "MY-CLASS"),
    ],
)
def test_invalid_class_name(make_tree: Maker, rel: str, bad: str) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {rel: ("PACKAGES install\nx\n", EXE)})]
    with pytest.raises(OverlayError) as info:
        collect(layers)
    assert f"'{bad}'" in info.value.message and "class name" in info.value.message
    assert "A-Z, 0-9 and _" in (info.value.hint or "")


def test_invalid_class_name_in_overlay_yaml(make_tree: Maker) -> None:
    with pytest.raises(OverlayError, match="class name 'slim-class' is invalid") as info:
        overlay(make_tree, "ov", {}, "provides:\n  - SLIM\n  - slim-class\n")
    assert info.value.line == 3 and info.value.path is not None and info.value.path.name == "overlay.yaml"


def test_file_modes_misspelled_gets_a_hint(make_tree: Maker) -> None:
    layers = [
        base(make_tree),
        overlay(make_tree, "ov", {"files/etc/foo/OV": "x", "files/etc/foo/file_modes": "0 0 644"}),
    ]
    with pytest.raises(OverlayError, match="'file_modes' is not a valid FAI class name") as info:
        collect(layers)
    assert "did you mean 'file-modes'" in (info.value.hint or "")


def test_package_config_unknown_command(make_tree: Maker) -> None:
    layers = [
        base(make_tree),
        overlay(make_tree, "ov", {"package_config/OV": "# c\nPACKAGES instal\nvim\n"}),
    ]
    with pytest.raises(OverlayError, match="unknown package command 'instal'") as info:
        collect(layers)
    assert info.value.line == 2 and "install-norec" in (info.value.hint or "")


def test_package_config_empty_list(make_tree: Maker) -> None:
    text = "PACKAGES install-norec\nvim\n\nPACKAGES install\n# nothing here\n"
    layers = [base(make_tree), overlay(make_tree, "ov", {"package_config/OV": text})]
    with pytest.raises(OverlayError, match="'PACKAGES install' is followed by no packages") as info:
        collect(layers)
    assert info.value.line == 4


def test_package_before_header(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"package_config/OV": "vim\n"})]
    with pytest.raises(OverlayError, match="comes before any PACKAGES header"):
        collect(layers)


def test_replaces_path_escapes(make_tree: Maker) -> None:
    with pytest.raises(OverlayError, match="replaces entry '../etc/passwd' escapes the config space"):
        overlay(make_tree, "ov", {}, "replaces: [../etc/passwd]\n")


def test_symlink_pointing_outside_the_layer(make_tree: Maker, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x")
    ov = overlay(make_tree, "ov", {"files/etc/x/OV": "x"})
    (ov.root / "files/etc/x/OV").unlink()
    (ov.root / "files/etc/x/OV").symlink_to(secret)
    with pytest.raises(OverlayError, match="symlink points outside its layer"):
        collect([base(make_tree), ov])


def test_symlinked_directory_pointing_outside(make_tree: Maker, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    ov = overlay(make_tree, "ov", {"files/etc/README": "x"})
    (ov.root / "files/etc/linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OverlayError, match="symlink points outside its layer"):
        collect([base(make_tree), ov])


def test_requires_a_class_nothing_provides(make_tree: Maker) -> None:
    ov = overlay(make_tree, "ov", {}, "requires:\n  - CLOUD\n  - AMAZING\n")
    check_requires([ov], ["BASE", "CLOUD", "AMAZING", "LAST"])  # both present: fine
    with pytest.raises(
        OverlayError, match="overlay 'ov' requires class AMAZING, which nothing provides"
    ) as info:
        check_requires([ov], ["BASE", "CLOUD", "LAST"])
    assert info.value.line == 3


def test_conflicting_class_stops_with_the_reason(make_tree: Maker) -> None:
    ov = overlay(make_tree, "ov", {}, "conflicts:\n  SLIM: it needs apparmor, which slim removes\n")
    check_requires([ov], ["BASE", "CLOUD", "LAST"])  # SLIM absent: fine
    with pytest.raises(
        OverlayError, match="overlay 'ov' cannot be combined with class SLIM: it needs apparmor"
    ) as info:
        check_requires([ov], ["BASE", "SLIM", "LAST"])
    assert info.value.line == 2 and info.value.hint and "without SLIM:" in info.value.hint


@pytest.mark.parametrize(
    "text",
    ["conflicts: [SLIM]\n", "conflicts: {slim: x}\n", "conflicts: {SLIM: ''}\n", "conflicts: {SLIM: [a]}\n"],
)
def test_conflicts_must_map_classes_to_a_reason(make_tree: Maker, text: str) -> None:
    with pytest.raises(OverlayError, match="conflicts"):
        overlay(make_tree, "ov", {}, text)


def test_stale_replaces_entry(make_tree: Maker) -> None:
    ov = overlay(make_tree, "ov", {"files/etc/y/OV": "y"}, "replaces: [files/etc/nothing/DEBIAN]\n")
    with pytest.raises(
        OverlayError, match="replaces files/etc/nothing/DEBIAN, which no earlier layer provides"
    ):
        collect([base(make_tree), ov])


def test_hook_for_unknown_task(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"hooks/configur.OV": ("#!/bin/sh\n", EXE)})]
    with pytest.raises(OverlayError, match="names unknown FAI task 'configur'"):
        collect(layers)


def test_unknown_top_level_directory(make_tree: Maker) -> None:
    layers = [base(make_tree), overlay(make_tree, "ov", {"script/OV/10-x": ("#!/bin/sh\n", EXE)})]
    with pytest.raises(OverlayError, match="'script' is not part of a FAI config space"):
        collect(layers)
