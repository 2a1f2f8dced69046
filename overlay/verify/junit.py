"""Writing and merging junit XML for boots: console phases plus the live pytest run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    seconds: float
    failure: str | None = None


def suite(name: str, cases: list[Case]) -> ET.Element:
    failures = sum(1 for c in cases if c.failure)
    element = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{sum(c.seconds for c in cases):.1f}",
    )
    for case in cases:
        tc = ET.SubElement(element, "testcase", classname=name, name=case.name, time=f"{case.seconds:.1f}")
        if case.failure:
            ET.SubElement(tc, "failure", message=case.failure).text = case.failure
    return element


def pytest_suites(path: Path, prefix: str) -> list[ET.Element]:
    if not path.is_file():
        return []
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for s in suites:
        s.set("name", f"{prefix}")
        for tc in s.iter("testcase"):
            tc.set("classname", f"{prefix}.{tc.get('classname', '')}")
    return suites


def write(path: Path, suites: list[ET.Element]) -> None:
    root = ET.Element("testsuites")
    root.extend(suites)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
