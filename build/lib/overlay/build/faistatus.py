"""Reading FAI's own verdict: the build output, status.log and in-build test reports.

fai-diskimage can exit 0 after a failed hook or script; FAI only writes
"FAILED with exit code N" into status.log. A build succeeds only when fai
exits 0 and every FAILED entry is explained: a known-harmless failure whose
evidence is found in the log (data/known-failures.yaml), or in-build tests
whose failures are all waived.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import junit, resources
from overlay.definition.spec import Waiver
from overlay.manifest.model import Excuse, WaivedTest

STATUS_RE = re.compile(r"^(?P<name>\S+)\s+(?:OK\.|FAILED with exit code (?P<code>\d+)\.)\s*$")
START_RE = re.compile(r"^Starting FAI execution - (\d{8}_\d{6})")
MISSING_PKG_RES = (
    re.compile(r"^E: Unable to locate package (\S+)"),
    re.compile(r"^E: Package '([^']+)' has no installation candidate"),
    re.compile(r"^E: Version '[^']+' for '([^']+)' was not found"),
)
TASK_ERROR_RE = re.compile(r"^Error in task (\S+)\. Code: (\d+)")
EXPIRED_RE = re.compile(r"Release file for (\S+) is expired")
DROPPED_RE = re.compile(r"WARNING: These unknown packages are removed from the installation list: (.*)")


@dataclass(frozen=True)
class Failure:
    name: str
    code: int


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)  # why the build failed, one line each
    excused: list[Excuse] = field(default_factory=list)
    waived: list[WaivedTest] = field(default_factory=list)
    tests: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


@functools.cache
def known_failures() -> list[dict[str, Any]]:
    return list(resources.data_yaml("known-failures.yaml").data)


def parse_status(text: str) -> list[Failure]:
    out = []
    for line in text.splitlines():
        m = STATUS_RE.match(line.strip())
        if m and m.group("code") is not None:
            out.append(Failure(m.group("name"), int(m.group("code"))))
    return out


def hook_output(log_lines: Sequence[str], name: str) -> list[str]:
    """The output between 'Calling hook: NAME' and NAME's status line."""
    out: list[str] = []
    inside = False
    for line in log_lines:
        if line.startswith(f"Calling hook: {name}"):
            inside, out = True, []
            continue
        if inside and line.startswith(name) and ("FAILED" in line or line.rstrip().endswith("OK.")):
            return out
        if inside:
            out.append(line)
    return out


def _evidence(rule: dict[str, Any], log_lines: Sequence[str], state_dir: Path) -> bool:
    """True only when the log (or the build state) shows what the rule says happened.

    A rule with output patterns needs the failed hook's output to be there and
    every line of it to match; missing output is no evidence.
    """
    patterns = [re.compile(p) for p in rule.get("output_lines_match", [])]
    if patterns:
        lines = [ln for ln in hook_output(log_lines, rule["name"]) if ln.strip()]
        if not lines or not all(any(p.match(ln) for p in patterns) for ln in lines):
            return False
    if rule.get("requires_state") == "esp-filled" and not (state_dir / "esp.json").is_file():
        return False
    return bool(patterns) or "requires_state" in rule


def _excused(failure: Failure, log_lines: Sequence[str], state_dir: Path) -> Excuse | None:
    for rule in known_failures():
        if rule["name"] != failure.name or int(rule["exit_code"]) != failure.code:
            continue
        if _evidence(rule, log_lines, state_dir):
            return Excuse(failure.name, failure.code, rule["reason"])
    return None


def waiver_for(test_id: str, waivers: Iterable[Waiver]) -> Waiver | None:
    for waiver in waivers:
        if (
            test_id == waiver.test
            or test_id.endswith("." + waiver.test)
            or test_id.split(".")[-1] == waiver.test
        ):
            return waiver
    return None


def judge(
    *,
    returncode: int,
    status_text: str,
    log_lines: Sequence[str],
    state_dir: Path,
    junit_report: Path | None,
    waivers: Sequence[Waiver],
) -> Verdict:
    verdict = Verdict()
    if returncode != 0:
        verdict.failures.append(f"fai-diskimage exited with {returncode}{_task_errors(log_lines)}")
        missing = missing_packages(log_lines)
        if missing:
            verdict.failures.append(f"package(s) not found in the archive: {', '.join(missing)}")
        expired = sorted({m.group(1) for ln in log_lines if (m := EXPIRED_RE.search(ln))})
        if expired:
            verdict.failures.append(
                f"the mirror's Release files are expired ({', '.join(expired)}); "
                "for a lagging mirror set apt_max_age (--apt-max-age DAYS)"
            )
    dropped = [p for ln in log_lines if (m := DROPPED_RE.search(ln)) for p in m.group(1).split()]
    if dropped:
        verdict.failures.append(f"package(s) not found in the archive: {', '.join(dict.fromkeys(dropped))}")
    for failure in parse_status(status_text):
        if failure.name.startswith("tests."):
            _judge_tests(verdict, failure, junit_report, waivers)
            continue
        excuse = _excused(failure, log_lines, state_dir)
        if excuse:
            verdict.excused.append(excuse)
        else:
            verdict.failures.append(f"{failure.name} failed with exit code {failure.code}")
    return verdict


def _judge_tests(
    verdict: Verdict, failure: Failure, junit_path: Path | None, waivers: Sequence[Waiver]
) -> None:
    if junit_path is None or not junit_path.is_file():
        verdict.failures.append(
            f"{failure.name} failed with exit code {failure.code} and wrote no junit report"
        )
        return
    report = junit.parse(junit_path)
    if report.error:
        verdict.failures.append(f"{failure.name} failed and its junit report is unreadable: {report.error}")
        return
    verdict.tests = report.counts()
    failed = report.failed_ids
    unwaived = []
    for test_id in failed:
        waiver = waiver_for(test_id, waivers)
        if waiver:
            verdict.waived.append(WaivedTest(test_id, waiver.test, waiver.reason))
        else:
            unwaived.append(test_id)
    if unwaived:
        verdict.failures.append(f"in-build tests failed ({failure.name}): {', '.join(unwaived)}")
    elif not failed:
        verdict.failures.append(
            f"{failure.name} failed with exit code {failure.code} but its report shows no failed test"
        )


def _task_errors(log_lines: Sequence[str]) -> str:
    errors = [f"{m.group(1)} (code {m.group(2)})" for ln in log_lines if (m := TASK_ERROR_RE.match(ln))]
    return f"; error in task {', '.join(errors)}" if errors else ""


def missing_packages(log_lines: Iterable[str]) -> list[str]:
    found: list[str] = []
    for line in log_lines:
        for regex in MISSING_PKG_RES:
            m = regex.match(line.strip())
            if m and m.group(1) not in found:
                found.append(m.group(1))
    return found


def log_dir_name(log_lines: Iterable[str]) -> str | None:
    for line in log_lines:
        m = START_RE.match(line)
        if m:
            return f"install-{m.group(1)}"
    return None
