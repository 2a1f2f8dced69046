"""The `fai-overlay …` command lines of README.md and docs/, as a user would copy them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE_RE = re.compile(r"^```(\w*)\s*$")
OPERATORS = {"||", "&&", "|", ";", ";;", ">", "2>", "<"}
START_RE = re.compile(r"(?:^|[;&|(]\s*|\bexec\s+|^\$\s+|^(?:\w+=\S+\s+)+)(fai-overlay\s+[a-z].*)$")


@dataclass(frozen=True)
class DocCommand:
    page: Path
    line: int
    text: str  # the command, continuations joined, comment removed
    env: tuple[tuple[str, str], ...]  # VAR=value prefixes
    shown: str | None = None  # for a `$ fai-overlay …` line: the output the page shows after it

    @property
    def argv(self) -> list[str]:
        """The words of the command, up to a shell operator (||, ;;, |, &&, ;)."""
        words = shlex.split(self.text)
        stop = next((i for i, w in enumerate(words) if w in OPERATORS), len(words))
        return words[:stop]

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}: {self.text}"


def _logical_lines(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in block:
        if pending:
            pending = (pending[0], pending[1] + " " + line.strip())
        else:
            pending = (number, line)
        if not pending[1].rstrip().endswith("\\"):
            out.append(pending)
            pending = None
        else:
            pending = (pending[0], pending[1].rstrip()[:-1])
    return out


def _strip_comment(text: str) -> str:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.commenters = "#"
    lexer.whitespace_split = True
    return shlex.join(list(lexer))


def _commands(page: Path, block: list[tuple[int, str]]) -> list[DocCommand]:
    out = []
    for start, text in _logical_lines(block):
        m = START_RE.search(text.strip())
        if not m:
            continue
        prefix = text.split("fai-overlay")[0]
        env = tuple((k, v) for k, v in re.findall(r"(\w+)=(\S+)\s", prefix))
        out.append(DocCommand(page, start, _strip_comment(m.group(1)), env))
    return out


def _with_shown_output(page: Path, found: list[DocCommand]) -> list[DocCommand]:
    """A `$ fai-overlay …` line is followed by its output on the page: keep that line."""
    lines = page.read_text().splitlines()
    out = []
    for c in found:
        if lines[c.line - 1].lstrip().startswith("$ ") and c.line < len(lines):
            c = DocCommand(c.page, c.line, c.text, c.env, lines[c.line].strip())
        out.append(c)
    return out


def commands() -> list[DocCommand]:
    found = []
    for page in PAGES:
        block: list[tuple[int, str]] | None = None
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            fence = FENCE_RE.match(line.strip())
            if fence:
                block = [] if block is None else None
                if block is None:
                    continue
                continue
            if block is None:
                continue
            block.append((number, line))
            if not line.rstrip().endswith("\\"):
                for start, text in _logical_lines(block):
                    m = START_RE.search(text.strip())
                    if m:
                        env = tuple(
                            tuple(w.split("=", 1))
                            for w in re.findall(r"(\w+=\S+)\s", text.split("fai-overlay")[0])
                        )
                        found.append(DocCommand(page, start, _strip_comment(m.group(1)), env))  # type: ignore[arg-type]
                block = []
    return [c for page in PAGES for c in _with_shown_output(page, [f for f in found if f.page == page])]
