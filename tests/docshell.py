"""docs/fai-without-wrapper.md as a script: its `sh` blocks, in order, as a user would paste them.

A block right after an HTML comment starting `<!-- not run by the test` is left out (host
setup: package installation, the clone). The page's two settings lines, `DCI=~/dci` and
`OUT=…`, are the only lines the tests replace.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import REPO

PAGE = REPO / "docs/fai-without-wrapper.md"
SKIP_MARK = "<!-- not run by the test"
DCI_LINE = "DCI=~/dci"
OUT_RE = re.compile(r"OUT=\S+")
FAILED_RE = re.compile(r"^(\S+)\s+FAILED with exit code (\d+)\.?\s*$", re.MULTILINE)


def blocks(text: str, lang: str = "sh") -> list[tuple[bool, str]]:
    """(run by the test, body) of every fenced block of `lang`, in page order."""
    out: list[tuple[bool, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{lang}":
            previous = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            out.append((not previous.startswith(SKIP_MARK), "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return out


def script(dci: Path, out: Path, text: str | None = None) -> str:
    """The page's runnable blocks as one script, for checkout `dci` and output directory `out`."""
    lines = "".join(b for run, b in blocks(PAGE.read_text() if text is None else text) if run).splitlines()
    for what, match, value in (
        (DCI_LINE, lambda ln: ln == DCI_LINE, f"DCI={dci}"),
        ("OUT=…", OUT_RE.fullmatch, f"OUT={out}"),
    ):
        at = [i for i, ln in enumerate(lines) if match(ln)]
        if len(at) != 1:
            raise ValueError(f"the page must set {what} once, on a line of its own (found {len(at)})")
        lines[at[0]] = value
    return "\n".join(lines) + "\n"


def class_snippet(text: str | None = None) -> str:
    """The Python program of the class-list block (the heredoc fed to `python3 -`)."""
    for _, body in blocks(PAGE.read_text() if text is None else text):
        if "CLASSES=$(python3 -" in body:
            return body.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0] + "\n"
    raise ValueError("the page has no class-list block (CLASSES=$(python3 - …))")


def expected_failures(text: str | None = None) -> dict[str, int]:
    """The status.log FAILED entries the page says a build shows today: hook -> exit code."""
    page = PAGE.read_text() if text is None else text
    found: dict[str, int] = {}
    for _, body in blocks(page, "text"):
        found.update((name, int(code)) for name, code in FAILED_RE.findall(body))
    return found


def waived_tests(text: str | None = None) -> set[str]:
    """The upstream in-build tests the page says fail today (`test_….…[…]` in its bullet list)."""
    page = PAGE.read_text() if text is None else text
    return set(re.findall(r"^- `(test_[\w.]+\[[\w-]+\])`", page, re.MULTILINE))
