"""Paths built from input content: a plain file name, and a path that stays inside its root.

Anything that turns text from an input (a manifest, a .dsc, an index, an
overlay) into a path goes through one of these two functions:

    plain_name(text, what) -> str    one safe path component, e.g. a file named in a .dsc
    inside(root, rel, what) -> Path  root / rel, refused if it would leave root

Both raise OverlayError (exit 2) naming `what` and the offending value, with a
hint; callers that read remote data re-raise with their own location and code.
Output locations given on the command line are checked, before anything is
created, by check_output_dir.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from overlay.core.errors import OverlayError

PLAIN_HINT = "a plain file name: no '/', no '..', no leading '.' or '-', no control characters"


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def plain_name(text: str, what: str) -> str:
    """`text` if it is one plain path component, safe to join to any directory; else OverlayError.

    Refused: not a string, empty, '.', '..', a '/' anywhere (so also absolute
    paths), NUL or any other control character, a leading '.' (hidden files,
    '..') or '-' (read as an option by tools).
    """
    if not isinstance(text, str):
        raise OverlayError(f"{what}: expected a file name, got {type(text).__name__}", hint=PLAIN_HINT)
    if not text:
        reason = "is empty"
    elif "/" in text:
        reason = "is a path, not a plain file name"
    elif _control(text):
        reason = "contains a control character"
    elif text.startswith("."):
        reason = "starts with '.'"
    elif text.startswith("-"):
        reason = "starts with '-'"
    elif len(text.encode()) > 255:
        reason = "is longer than 255 bytes"
    else:
        return text
    raise OverlayError(f"{what}: {_shown(text)} {reason}", hint=PLAIN_HINT)


def inside(root: Path, rel: str | os.PathLike[str], what: str = "path") -> Path:
    """`root / rel`, refused (OverlayError) unless it stays inside `root`.

    Refused: an absolute `rel`, a '..' component, NUL or control characters,
    and a result that leaves `root` through a symlink that already exists.
    `rel` may have several components ('a/b/c'); use plain_name for one.
    """
    text = os.fspath(rel)
    hint = f"a relative path inside {root}"
    if not text or _control(text):
        raise OverlayError(f"{what}: {_shown(text)} is empty or contains a control character", hint=hint)
    parts = PurePosixPath(text)
    if parts.is_absolute() or ".." in parts.parts:
        raise OverlayError(f"{what}: {_shown(text)} leaves {root}", hint=hint)
    path = root / parts
    real_root = root.resolve()
    if not path.resolve().is_relative_to(real_root):
        raise OverlayError(f"{what}: {_shown(text)} leaves {root} through a symlink", hint=hint)
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
