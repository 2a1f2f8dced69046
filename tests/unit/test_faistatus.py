"""Judging a FAI run: exit code, status.log, known-harmless failures, in-build tests."""

from __future__ import annotations

from pathlib import Path

from overlay.build import faistatus
from overlay.definition.spec import Waiver

STATUS = """setup.BASE.sh        OK.
partition.AMD64      OK.
mountdisks.BASE      FAILED with exit code 32.
repository.BASE      FAILED with exit code 1.
DEBIAN/10-files      OK.
tests.BUILD_IMAGE    FAILED with exit code 1.
"""
LOG = """Calling hook: repository.BASE
'/etc/resolv.conf' -> '/tmp/fai-diskimage.x/etc/resolv.conf'
fcopy: no matching file for any class for etc/apt/preferences.d/linux.pref defined.
fcopy: copied /c/files/etc/apt/mirrors/debian.list/DEBIAN to /tmp/x/etc/apt/mirrors/debian.list
repository.BASE      FAILED with exit code 1.
""".splitlines()
JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="3" failures="2">
<testcase classname="image.test_etc.TestEtc" name="test_group_name[clock]"><failure message="x"/></testcase>
<testcase classname="image.test_etc.TestEtc" name="test_passwd_name[dhcpcd]"><failure message="y"/>
</testcase>
<testcase classname="image.test_etc.TestEtc" name="test_ok"/>
</testsuite></testsuites>"""


def judge(
    tmp_path: Path,
    *,
    rc: int = 0,
    status: str = STATUS,
    log: list[str] = LOG,
    waivers: tuple[Waiver, ...] = (),
    esp: bool = True,
) -> faistatus.Verdict:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    if esp:
        (state / "esp.json").write_text("{}")
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    return faistatus.judge(
        returncode=rc,
        status_text=status,
        log_lines=log,
        state_dir=state,
        junit_report=junit,
        waivers=waivers,
    )


def test_exit_zero_with_failed_tests_is_a_failure(tmp_path: Path) -> None:
    verdict = judge(tmp_path)
    assert not verdict.ok
    assert verdict.failures == [
        "in-build tests failed (tests.BUILD_IMAGE): "
        "image.test_etc.TestEtc.test_group_name[clock], "
        "image.test_etc.TestEtc.test_passwd_name[dhcpcd]"
    ]
    assert {e.name for e in verdict.excused} == {"mountdisks.BASE", "repository.BASE"}


def test_named_waivers_make_it_pass_and_are_recorded(tmp_path: Path) -> None:
    waivers = (
        Waiver("test_group_name[clock]", "udev 257 adds the clock group"),
        Waiver("test_etc.TestEtc.test_passwd_name[dhcpcd]", "dhcpcd-base adds a user"),
    )
    verdict = judge(tmp_path, waivers=waivers)
    assert verdict.ok
    assert [w.reason for w in verdict.waived] == [
        "udev 257 adds the clock group",
        "dhcpcd-base adds a user",
    ]
    assert verdict.tests == {"tests": 3, "failures": 2, "errors": 0, "skipped": 0}


def test_repository_failure_with_unexpected_output_is_not_excused(tmp_path: Path) -> None:
    log = [*LOG[:2], "E: Unable to locate package foo", *LOG[2:]]
    verdict = judge(tmp_path, log=log, status="repository.BASE      FAILED with exit code 1.\n")
    assert verdict.failures == ["repository.BASE failed with exit code 1"]


def test_esp_mount_failure_excused_only_when_esp_was_filled(tmp_path: Path) -> None:
    status = "mountdisks.BASE      FAILED with exit code 32.\n"
    assert judge(tmp_path, status=status, esp=True).ok
    verdict = judge(tmp_path / "b", status=status, esp=False) if (tmp_path / "b").mkdir() is None else None
    assert verdict is not None and verdict.failures == ["mountdisks.BASE failed with exit code 32"]


def test_unknown_failed_script(tmp_path: Path) -> None:
    verdict = judge(tmp_path, status="SYSTEM_BOOT/20-grub  FAILED with exit code 1.\nLAST/90-cleanup OK.\n")
    assert verdict.failures == ["SYSTEM_BOOT/20-grub failed with exit code 1"]


def test_nonzero_exit_names_task_and_missing_package(tmp_path: Path) -> None:
    log = ["E: Unable to locate package no-such-package-xyz", "Error in task instsoft. Code: 471"]
    verdict = judge(tmp_path, rc=1, status="", log=log)
    assert verdict.failures == [
        "fai-diskimage exited with 1; error in task instsoft (code 471)",
        "package(s) not found in the archive: no-such-package-xyz",
    ]


def test_umount_error_lines_are_not_failures(tmp_path: Path) -> None:
    log = ["ERROR: fai-diskimage cannot umount /tmp/fai-diskimage.x/dev"]
    assert judge(tmp_path, status="LAST/90-cleanup OK.\n", log=log).ok


def test_log_dir_name() -> None:
    assert (
        faistatus.log_dir_name(["x", "Starting FAI execution - 20261126_080304"])
        == "install-20261126_080304"
    )


def test_unknown_package_dropped_by_fai_fails_the_build(tmp_path: Path) -> None:
    log = ["WARNING: These unknown packages are removed from the installation list: nosuchpkg otherpkg"]
    verdict = judge(tmp_path, rc=0, status="LAST/90-cleanup OK.\n", log=log)
    assert verdict.failures == ["package(s) not found in the archive: nosuchpkg, otherpkg"]
