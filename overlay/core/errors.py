"""The one error type of fai-overlay and the documented exit codes."""

from __future__ import annotations

import enum
from pathlib import Path


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # a build, test or boot ran and failed
    USAGE = 2  # bad input: image definition, overlay, command line
    # check-updates uses 10 and 20, diff uses 3: see docs/publishing.md
    DIFFERENT = 3
    UPDATES = 10
    SECURITY_UPDATES = 20
    INTERRUPTED = 130


class OverlayError(Exception):
    """A user-facing error: one line, the file and line where known, and a hint."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
        code: ExitCode = ExitCode.USAGE,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = Path(path) if path is not None else None
        self.line = line
        self.code = code

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}: " if self.line else f"{self.path}: "

    def __str__(self) -> str:
        text = f"{self.location()}{self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return one_line(text)


def one_line(text: str) -> str:
    """Input quoted in a message cannot break it over lines or send terminal escapes."""
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class BuildFailed(OverlayError):
    """A build, test or boot that ran but did not succeed."""

    def __init__(self, message: str, *, hint: str | None = None, path: Path | str | None = None) -> None:
        super().__init__(message, hint=hint, path=path, code=ExitCode.FAILED)
