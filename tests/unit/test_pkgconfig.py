from __future__ import annotations

from pathlib import Path

import pytest

from overlay.compose import pkgconfig
from overlay.core.errors import OverlayError


def test_sections_and_installed_names() -> None:
    text = (
        "# comment\nPACKAGES install-norec LINUX_VERSION_BASE+LINUX_VARIANT_CLOUD\nlinux-image-cloud-amd64\n"
        "\nPACKAGES install-norec\nvim curl- nano:amd64 foo/trixie-backports bar=1.0\n$EXTRA\n"
        "PACKAGES remove\nnano\n"
    )
    sections = pkgconfig.parse(Path("package_config/X"), text)
    assert [s.command for s in sections] == ["install-norec", "install-norec", "remove"]
    assert sections[0].condition == ("LINUX_VERSION_BASE+LINUX_VARIANT_CLOUD",)
    assert sections[1].line == 5
    assert pkgconfig.installed_names(sections) == ["linux-image-cloud-amd64", "vim", "nano", "foo", "bar"]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("PACKAGES\nvim\n", 1, "'PACKAGES' needs a command"),
        ("PACKAGES install\nVim!\n", 2, "'Vim!' is not a package name"),
        ("PACKAGES install\n", 1, "is followed by no packages"),
    ],
)
def test_errors(text: str, line: int, needle: str) -> None:
    with pytest.raises(OverlayError, match=needle) as info:
        pkgconfig.parse(Path("package_config/X"), text)
    assert info.value.line == line
