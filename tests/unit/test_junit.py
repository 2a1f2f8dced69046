"""The junit reader's one-screen summary says which tests failed and why."""

from __future__ import annotations

from pathlib import Path

from overlay.core import junit

REPORT = """<testsuites><testsuite name="live">
<testcase classname="test_amphora" name="test_up"/>
<testcase classname="test_amphora" name="test_vip">
<failure message="AssertionError: no answer from the VIP&#10;second line">tb</failure></testcase>
<testcase classname="test_amphora" name="test_rogue">
<error>requests.exceptions.ReadTimeout: boom</error></testcase>
<testcase classname="test_amphora" name="test_skip"><skipped message="no KVM"/></testcase>
</testsuite></testsuites>"""


def test_the_summary_names_each_failure_with_its_first_line(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text(REPORT)
    text = junit.parse(tmp_path / "r.xml").text("live checks")
    lines = text.splitlines()
    assert lines[0] == "live checks: 1 passed, 2 failed, 1 skipped"
    assert lines[1] == "  FAILED test_amphora.test_vip: AssertionError: no answer from the VIP"
    assert lines[2] == "  FAILED test_amphora.test_rogue: requests.exceptions.ReadTimeout: boom"
    assert len(lines) == 3


def test_an_unreadable_report_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text("<testsuites>")
    assert junit.parse(tmp_path / "r.xml").status == "unreadable"
