"""overlay.core.paths: plain file names and paths that stay inside their root."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.core import paths
from overlay.core.errors import ExitCode, OverlayError


@pytest.mark.parametrize("name", ["jq_1.7.1-6.dsc", "glibc_2.41.orig.tar.xz", "a", "x..y", "libc6+~1"])
def test_plain_names_are_accepted(name: str) -> None:
    assert paths.plain_name(name, "file") == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("/etc/passwd", "is a path"),
        ("../../etc/passwd", "is a path"),
        ("a/b", "is a path"),
        ("..", "starts with '.'"),
        (".", "starts with '.'"),
        (".hidden", "starts with '.'"),
        ("-rf", "starts with '-'"),
        ("a\0b", "control character"),
        ("a\nb", "control character"),
        ("a\x7fb", "control character"),
    ],
)
def test_other_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(OverlayError, match=reason) as err:
        paths.plain_name(name, "Checksums-Sha256[0].name")
    assert str(err.value).startswith("Checksums-Sha256[0].name: ")
    assert err.value.hint == paths.PLAIN_HINT and err.value.code is ExitCode.USAGE
    assert "\n" not in err.value.message


def test_a_non_string_is_refused() -> None:
    with pytest.raises(OverlayError, match="expected a file name, got int"):
        paths.plain_name(3, "name")  # type: ignore[arg-type]


def test_inside_joins_relative_paths(tmp_path: Path) -> None:
    assert paths.inside(tmp_path, "a/b.txt") == tmp_path / "a" / "b.txt"
    assert paths.inside(tmp_path, Path("x")) == tmp_path / "x"


@pytest.mark.parametrize(
    ("rel", "reason"), [("/etc/passwd", "leaves"), ("a/../../x", "leaves"), ("", "empty")]
)
def test_inside_refuses_escapes(tmp_path: Path, rel: str, reason: str) -> None:
    with pytest.raises(OverlayError, match=reason):
        paths.inside(tmp_path / "root", rel, "output")


def test_inside_refuses_an_escape_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(OverlayError, match="through a symlink"):
        paths.inside(root, "out/x")
    (root / "in").symlink_to(root / "sub")
    assert paths.inside(root, "in/x") == root / "in" / "x"
