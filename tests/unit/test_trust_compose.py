"""Hostile overlays: nothing escapes, templates run no host code, plan refuses what compose would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from overlay.build.plan import make_plan
from overlay.compose import write
from overlay.core import paths
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from tests.support import EXAMPLES


def overlay(tmp_path: Path, files: dict[str, str | tuple[str, int]], yaml: str = "") -> Path:
    root = tmp_path / "ov"
    root.mkdir(exist_ok=True)
    if yaml:
        (root / "overlay.yaml").write_text(yaml)
    for rel, spec in files.items():
        content, mode = (spec, 0o644) if isinstance(spec, str) else spec
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
        os.chmod(root / rel, mode)
    return root


def plan_error(tmp_path: Path, root: Path) -> OverlayError:
    (spec,) = load_images(EXAMPLES / "default.yaml", {"overlays": [str(root)]})
    with pytest.raises(OverlayError) as info:
        make_plan(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    return info.value


def template(tmp_path: Path, text: str) -> OverlayError:
    return plan_error(tmp_path, overlay(tmp_path, {"files/etc/motd/X.j2": text}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "access to attribute '__class__' of 'str' object is unsafe",
        ),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "is unsafe"),
        ("{{ self._TemplateReference__context }}", "unsafe"),
        ("{{ 'x' * 100000000 }}", "'*' would build a value of 100000000 items"),
        ("{{ 9 ** 999999 }}", "exponent 999999 is larger than 64"),
        ("{% for i in range(10**7) %}{% endfor %}", "Range too big"),
        (
            "{% include '../../etc/passwd' %}",
            "template includes ../../etc/passwd, which is not in this overlay",
        ),
        ("{% include '/etc/passwd' %}", "which is not in this overlay"),
        ("{{ NOT_DEFINED }}", "template uses an undefined variable: 'NOT_DEFINED' is undefined"),
        ("line one\n{{ 1 / 0 }}", "template error: ZeroDivisionError: division by zero"),
        ("{% if %}", "template error: "),
    ],
)
def test_templates_are_sandboxed_and_confined(tmp_path: Path, text: str, message: str) -> None:
    err = template(tmp_path, text)
    assert message in err.message
    assert err.path == tmp_path / "ov/files/etc/motd/X.j2" and err.line


def test_template_error_line_is_the_templates(tmp_path: Path) -> None:
    err = template(tmp_path, "a\nb\n{{ 1 / 0 }}\n")
    assert err.line == 3


def test_include_through_a_symlink_out_of_the_overlay_is_refused(tmp_path: Path) -> None:
    root = overlay(tmp_path, {"files/etc/motd/X.j2": "{% include 'tests/leak' %}"})
    (root / "tests").mkdir()
    (root / "tests/leak").symlink_to("/etc/hostname")
    assert "which is not in this overlay" in plan_error(tmp_path, root).message


def test_an_include_inside_the_overlay_works(tmp_path: Path) -> None:
    root = overlay(
        tmp_path,
        {
            "files/etc/motd/X.j2": "{% include 'templates/hello.txt' %}",
            "templates/hello.txt": "hi {{ arch }}\n",
        },
    )
    (spec,) = load_images(EXAMPLES / "default.yaml", {"overlays": [str(root)]})
    plan = make_plan(spec, tmp_path / "out")
    result = write.compose(plan.layers, tmp_path / "c/cspace", plan.variables(), plan.class_names())
    assert (result.root / "files/etc/motd/X").read_text() == f"hi {spec.arch.name}\n"


@pytest.mark.parametrize("top", ["files", "class", "hooks", "package_config"])
def test_a_top_level_directory_that_is_a_symlink_out_is_refused(tmp_path: Path, top: str) -> None:
    root = tmp_path / "ov"
    root.mkdir()
    (root / top).symlink_to("/etc")
    err = plan_error(tmp_path, root)
    assert "symlink points outside its layer, to /etc" in err.message and err.path == root / top


def test_nested_and_dangling_symlinks_and_fifos_are_refused(tmp_path: Path) -> None:
    root = overlay(tmp_path, {"files/etc/a/HELLO": "x"})
    (root / "files/etc/b").symlink_to("/etc")
    assert "symlink points outside its layer" in plan_error(tmp_path, root).message
    (root / "files/etc/b").unlink()
    (root / "files/etc/a/GONE").symlink_to("nowhere")
    assert "symlink is dangling" in plan_error(tmp_path, root).message
    (root / "files/etc/a/GONE").unlink()
    os.mkfifo(root / "files/etc/a/FIFO")
    assert "not a regular file" in plan_error(tmp_path, root).message


@pytest.mark.parametrize(
    ("files", "yaml", "message"),
    [
        ({"hooks/configure.OV": ("#!/bin/sh\n", 0o644)}, "", "hook is not executable"),
        ({"scripts/OV/10-x": ("#!/bin/sh\n", 0o644)}, "", "script is not executable"),
        ({"package_config/OV": "PACKAGES instal\nvim\n"}, "", "unknown package command 'instal'"),
        ({"package_config/OV": "vim\n"}, "", "comes before any PACKAGES header"),
        ({"files/etc/motd/hello": "x"}, "", "'hello' is not a valid FAI class name"),
        ({"package_config/DEBIAN": "PACKAGES install\nvim\n"}, "", "is provided by both"),
        ({"class/OV.var": "X=1\n"}, "requires: [NO_SUCH_CLASS]\n", "requires class NO_SUCH_CLASS"),
        ({"notfai/x": "x"}, "", "'notfai' is not part of a FAI config space"),
    ],
)
def test_plan_refuses_what_compose_refuses(
    tmp_path: Path, files: dict[str, str | tuple[str, int]], yaml: str, message: str
) -> None:
    root = overlay(tmp_path, files, yaml)
    assert message in plan_error(tmp_path, root).message


def test_a_failed_compose_leaves_the_previous_result_and_no_temporary_files(tmp_path: Path) -> None:
    root = overlay(tmp_path, {"files/etc/motd/X.j2": "fine\n"})
    (spec,) = load_images(EXAMPLES / "default.yaml", {"overlays": [str(root)]})
    plan = make_plan(spec, tmp_path / "out")
    dest = tmp_path / "c/cspace"
    write.compose(plan.layers, dest, plan.variables(), plan.class_names())
    before = (tmp_path / "c/compose.json").read_text()
    (root / "files/etc/motd/X.j2").write_text("{{ 1 / 0 }}")
    with pytest.raises(OverlayError, match="ZeroDivisionError"):
        write.compose(plan.layers, dest, plan.variables(), plan.class_names())
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["compose.json", "cspace"]
    assert (tmp_path / "c/compose.json").read_text() == before
    assert (dest / "files/etc/motd/X").read_text() == "fine\n"


def test_output_locations_are_checked_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OverlayError, match="-o .*/file is a file"):
        paths.check_output_dir(tmp_path / "file", "-o")
    with pytest.raises(OverlayError, match="lies under .*/file, which is not a directory"):
        paths.check_output_dir(tmp_path / "file/sub/dir", "-o")
    (tmp_path / "ro").mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path / "ro" else real(p, mode))
    with pytest.raises(OverlayError, match="is not writable"):
        paths.check_output_dir(tmp_path / "ro/new", "--to")
    paths.check_output_dir(tmp_path / "new/deeper", "-o")
    assert not (tmp_path / "new").exists()
