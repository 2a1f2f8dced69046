"""Confinement: every path built from input content goes through here.

A name taken from an input (a manifest, a .dsc, an index) becomes a file name
only if it is a plain base name; a relative path from an input stays inside
its root. Output locations are checked before anything is created.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from overlay.core.errors import OverlayError

NAME_HINT = "a plain file name: no '/', no '..', no leading '.' or '-', no control characters"


def plain_name(text: str, what: str) -> str:
    """`text` if it is a plain base name (usable as one file in one directory), else an error."""
    if (
        not isinstance(text, str)
        or not text
        or text in (".", "..")
        or "/" in text
        or "\\" in text
        or text.startswith((".", "-"))
        or any(ord(c) < 32 or ord(c) == 127 for c in text)
        or len(text.encode()) > 255
    ):
        raise OverlayError(f"{what} {text!r} is not a plain file name", hint=NAME_HINT)
    return text


def inside(root: Path, rel: str, what: str) -> Path:
    """root/rel, refused when rel is absolute, climbs with '..', or resolves (symlinks too) outside root."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts or "\0" in rel:
        raise OverlayError(f"{what} {rel!r} escapes its directory", hint="paths must stay inside it")
    path = root / rel
    if not path.resolve().is_relative_to(root.resolve()):
        raise OverlayError(f"{what} {rel!r} leads outside {root} (through a symlink)")
    return path


def check_output_dir(path: Path, flag: str) -> None:
    """Refuse an output location that is a file, lies under a file, or cannot be written.

    Called before anything is created, so a bad -o fails at once and leaves nothing behind.
    """
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise OverlayError(
                f"{flag} {path}: {probe} is a dangling symlink", hint="pick another directory"
            )
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == path else f"lies under {probe}, which is not a directory"
        raise OverlayError(f"{flag} {path} {what}", hint="give a directory (it is created if missing)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OverlayError(f"{flag} {path}: {probe} is not writable", hint="pick a directory you can write")
