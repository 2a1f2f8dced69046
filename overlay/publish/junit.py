"""Summaries of junit XML files (build, offline test and live boot results)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    status: str  # passed, failed, error, skipped
    message: str = ""


@dataclass(frozen=True)
class Summary:
    file: str
    cases: tuple[Case, ...] = field(default_factory=tuple)
    error: str = ""

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def status(self) -> str:
        """failed (a failure or error), passed, empty (no tests) or unreadable."""
        if self.error:
            return "unreadable"
        if any(c.status in ("failed", "error") for c in self.cases):
            return "failed"
        return "passed" if self.count("passed") else "empty"

    @property
    def problems(self) -> list[Case]:
        return [c for c in self.cases if c.status in ("failed", "error")]


def _case(element: ET.Element) -> Case:
    name = element.get("name", "?")
    classname = element.get("classname")
    full = f"{classname}.{name}" if classname else name
    for tag, status in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        child = element.find(tag)
        if child is not None:
            message = child.get("message") or (child.text or "").strip()
            return Case(full, status, message.splitlines()[0][:300] if message else "")
    return Case(full, "passed")


def parse(path: Path) -> Summary:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        return Summary(path.name, error=str(exc))
    return Summary(path.name, tuple(_case(e) for e in root.iter("testcase")))
