"""Parse and check FAI package_config files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from overlay.compose import fai
from overlay.core.errors import OverlayError

PKG_RE = re.compile(r"^(\$[A-Za-z_][A-Za-z0-9_]*|[a-z0-9][a-z0-9+.\-]*)([:/=][^\s]*)?[+-]?$")


@dataclass(frozen=True)
class Section:
    command: str
    condition: tuple[str, ...]
    packages: tuple[str, ...]
    line: int


def parse(path: Path, text: str | None = None, *, shown: str | None = None) -> list[Section]:
    """Return the PACKAGES sections; malformed headers raise OverlayError."""
    text = path.read_text(errors="replace") if text is None else text
    where = shown or str(path)
    sections: list[Section] = []
    current: tuple[str, tuple[str, ...], int] | None = None
    packages: list[str] = []

    def close() -> None:
        if current is None:
            return
        if not packages:
            raise OverlayError(
                f"'PACKAGES {current[0]}' is followed by no packages",
                path=where,
                line=current[2],
                hint="list package names below it, or delete the header",
            )
        sections.append(Section(current[0], current[1], tuple(packages), current[2]))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "PACKAGES":
            close()
            current, packages = _header(words, where, number), []
            continue
        if current is None:
            raise OverlayError(
                f"package '{words[0]}' comes before any PACKAGES header",
                path=where,
                line=number,
                hint="start the file with e.g. 'PACKAGES install-norec'",
            )
        for word in words:
            if not PKG_RE.match(word):
                raise OverlayError(
                    f"'{word}' is not a package name",
                    path=where,
                    line=number,
                    hint="one Debian package name per word; append '-' to remove one",
                )
        packages.extend(words)
    close()
    return sections


def _header(words: list[str], where: str, number: int) -> tuple[str, tuple[str, ...], int]:
    if len(words) < 2:
        raise OverlayError(
            "'PACKAGES' needs a command", path=where, line=number, hint="e.g. 'PACKAGES install-norec'"
        )
    command = words[1]
    if command not in fai.package_commands():
        known = ", ".join(sorted(fai.package_commands()))
        raise OverlayError(
            f"unknown package command '{command}'", path=where, line=number, hint=f"FAI knows: {known}"
        )
    return command, tuple(words[2:]), number


def installed_names(sections: list[Section]) -> list[str]:
    """Names a section list installs (not removals), without suffixes."""
    out = []
    for section in sections:
        if section.command in ("remove", "taskrm", "hold"):
            continue
        for pkg in section.packages:
            if pkg.endswith("-") or pkg.startswith("$"):
                continue
            out.append(re.split(r"[:/=+]", pkg, maxsplit=1)[0])
    return out
