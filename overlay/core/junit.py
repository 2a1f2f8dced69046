"""junit XML: the one reader and writer (in-build tests, offline checks, boots, the results page)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class Case:
    name: str  # classname.name
    status: str = "passed"  # passed, failed, error, skipped
    message: str = ""
    seconds: float = 0.0

    @property
    def problem(self) -> bool:
        return self.status in ("failed", "error")


@dataclass(frozen=True)
class Summary:
    file: str
    cases: tuple[Case, ...] = field(default_factory=tuple)
    error: str = ""  # why the file could not be read

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def problems(self) -> list[Case]:
        return [c for c in self.cases if c.problem]

    @property
    def failed_ids(self) -> list[str]:
        return [c.name for c in self.problems]

    def counts(self) -> dict[str, int]:
        """The shape the build manifest records for in-build tests."""
        return {
            "tests": len(self.cases),
            "failures": self.count("failed"),
            "errors": self.count("error"),
            "skipped": self.count("skipped"),
        }

    @property
    def status(self) -> str:
        """failed (a failure or error), passed, empty (no tests) or unreadable."""
        if self.error:
            return "unreadable"
        if self.problems:
            return "failed"
        return "passed" if self.count("passed") else "empty"

    def text(self, title: str, limit: int = 30) -> str:
        """A one-screen summary: a count line, then each failed test with the first line of why."""
        failed = self.problems
        lines = [
            f"{title}: {self.count('passed')} passed, {len(failed)} failed, {self.count('skipped')} skipped"
        ]
        lines += [
            f"  FAILED {c.name}" + (f": {c.message[:200]}" if c.message else "") for c in failed[:limit]
        ]
        if len(failed) > limit:
            lines.append(f"  … and {len(failed) - limit} more (see {self.file})")
        return "\n".join(lines) + "\n"


def _case(element: ET.Element) -> Case:
    name = element.get("name", "?")
    classname = element.get("classname")
    full = f"{classname}.{name}" if classname else name
    try:
        seconds = float(element.get("time", "0"))
    except ValueError:
        seconds = 0.0
    for tag, status in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        child = element.find(tag)
        if child is not None:
            message = child.get("message") or (child.text or "").strip()
            return Case(full, status, message.splitlines()[0][:300] if message else "", seconds)
    return Case(full, "passed", "", seconds)


def parse(path: Path) -> Summary:
    """Every test case of a junit file; an unreadable file gives a Summary with `error` set."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        return Summary(path.name, error=str(exc))
    return Summary(path.name, tuple(_case(e) for e in root.iter("testcase")))


def suite(name: str, cases: list[Case]) -> ET.Element:
    element = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(c.status == "failed" for c in cases)),
        errors=str(sum(c.status == "error" for c in cases)),
        skipped=str(sum(c.status == "skipped" for c in cases)),
        time=f"{sum(c.seconds for c in cases):.1f}",
    )
    for case in cases:
        tc = ET.SubElement(element, "testcase", classname=name, name=case.name, time=f"{case.seconds:.1f}")
        if case.status == "failed":
            ET.SubElement(tc, "failure", message=case.message).text = case.message
        elif case.status == "error":
            ET.SubElement(tc, "error", message=case.message).text = case.message
        elif case.status == "skipped":
            ET.SubElement(tc, "skipped", message=case.message)
    return element


def pytest_suites(path: Path, prefix: str) -> list[ET.Element]:
    """The suites of a pytest junit file, renamed under `prefix` for merging into one report."""
    if not path.is_file():
        return []
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for s in suites:
        s.set("name", prefix)
        for tc in s.iter("testcase"):
            tc.set("classname", f"{prefix}.{tc.get('classname', '')}")
    return suites


def write(path: Path, suites: list[ET.Element]) -> None:
    root = ET.Element("testsuites")
    root.extend(suites)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
