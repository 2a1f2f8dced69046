"""The second opinion: upstream's image tests, judged against the expected differences."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from overlay.core import junit
from overlay.core.errors import OverlayError
from overlay.manifest import model
from overlay.verify import upstream
from tests.fixtures import publishkit as kit

CLOCK = "image.test_etc.TestEtc.test_group_name[clock]"


def manifest(
    tmp_path: Path, layers: dict[str, str], waivers: list[dict[str, str]] | None = None
) -> model.BuildManifest:
    doc = kit.manifest_doc(layers=layers)
    doc["image"]["waive_tests"] = waivers or []
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(doc))
    return model.load(path)


def test_test_names_match_whole_by_tail_or_last_part() -> None:
    assert upstream.matches(CLOCK, "test_etc.TestEtc.test_group_name[clock]")
    assert upstream.matches(CLOCK, CLOCK) and upstream.matches(CLOCK, "test_group_name[clock]")
    assert not upstream.matches(CLOCK, "TestEtc.test_group_name[cloc")
    assert not upstream.matches(CLOCK, "test_group_name[clock2]")
    assert not upstream.matches("image.test_var.TestVar.test_var_log", "test_etc.TestVar.test_var_log")


def test_expected_differences_per_base_blend_waiver_and_overlay(tmp_path: Path) -> None:
    m = manifest(
        tmp_path,
        {"base_classes": "sha256:aa", "octavia-amphora": "sha256:bb"},
        [{"test": "test_etc.TestEtc.test_etc_default_locale", "reason": "a German image"}],
    )
    found = upstream.expected(m, ["test_base.TestBase.test_file_absent[/etc/mailname]"])
    sources = {(e.test.split(".")[-1], e.source) for e in found}
    assert ("test_group_name[clock]", "base embedded") in sources
    assert ("test_passwd_name[haproxy]", "blend octavia-amphora") in sources
    assert ("test_etc_default_locale", "waive_tests") in sources
    assert ("test_file_absent[/etc/mailname]", "allow: upstream") in sources
    assert all(e.reason for e in found)
    # the base alone expects only the drift of the day
    plain = upstream.expected(manifest(tmp_path, {"hello": "sha256:cc"}), [])
    assert sorted(e.test.split(".")[-1] for e in plain) == [
        "test_group_name[clock]",
        "test_passwd_name[dhcpcd]",
    ]


def case(name: str, status: str = "passed") -> junit.Case:
    return junit.Case(name, status, "boom" if status == "failed" else "")


def test_judge_sorts_expected_unexpected_and_stale() -> None:
    expected = [
        upstream.Expected("test_etc.TestEtc.test_group_name[clock]", "udev", "base embedded"),
        upstream.Expected("test_var.TestVar.test_var_log", "sysstat", "blend extra-packages"),
        upstream.Expected("test_etc.TestEtc.test_passwd_name[haproxy]", "haproxy", "blend octavia-amphora"),
    ]
    cases = [
        case(CLOCK, "failed"),
        case("image.test_var.TestVar.test_var_log"),  # passes now: the expectation is stale
        case("image.test_etc.TestEtc.test_etc_default_locale", "failed"),
        case("image.test_boot.TestBootFiles.test_boot_grub_arm64_efi", "skipped"),
    ]
    verdict = upstream.judge(cases, expected)
    assert [(c.name, e.source) for c, e in verdict.expected_failures] == [(CLOCK, "base embedded")]
    assert [c.name for c in verdict.unexpected] == ["image.test_etc.TestEtc.test_etc_default_locale"]
    assert [e.test for e in verdict.stale] == ["test_var.TestVar.test_var_log"]  # haproxy: no such test here
    assert not verdict.ok
    text = upstream.summary(verdict, "upstream")
    assert (
        text.splitlines()[0] == "upstream: 1 passed, 1 failed as expected, 1 failed unexpectedly, 1 skipped"
    )
    assert "FAILED upstream: image.test_etc.TestEtc.test_etc_default_locale: boom" in text
    assert "no longer fails: test_var.TestVar.test_var_log" in text
    assert upstream.judge(cases[:2], expected).ok


def test_junit_expected_failures_become_skips_that_say_why(tmp_path: Path) -> None:
    report = tmp_path / "upstream.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest" tests="2" failures="2">'
        '<testcase classname="image.test_etc.TestEtc" name="test_group_name[clock]">'
        '<failure message="clock not allowed">trace</failure></testcase>'
        '<testcase classname="image.test_etc.TestEtc" name="test_etc_default_locale">'
        '<failure message="not C.UTF-8">trace</failure></testcase>'
        "</testsuite></testsuites>"
    )
    why = upstream.Expected("test_etc.TestEtc.test_group_name[clock]", "udev 257", "base embedded")
    verdict = upstream.judge(list(junit.parse(report).cases), [why])
    suites = upstream.suites(report, verdict)
    out = tmp_path / "merged.xml"
    junit.write(out, suites)
    parsed = junit.parse(out)
    assert {c.name: c.status for c in parsed.cases} == {
        "upstream.image.test_etc.TestEtc.test_group_name[clock]": "skipped",
        "upstream.image.test_etc.TestEtc.test_etc_default_locale": "failed",
    }
    assert parsed.cases[0].message == "expected difference (base embedded): udev 257"
    suite = ET.parse(out).getroot()[0]
    assert (suite.get("name"), suite.get("failures"), suite.get("skipped")) == ("upstream", "1", "1")


def test_a_checkout_is_named_by_flag_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(upstream.ENV, raising=False)
    assert upstream.checkout() is None
    monkeypatch.setenv(upstream.ENV, "")
    assert upstream.checkout() is None
    dci = tmp_path / "dci"
    (dci / "system_tests/image").mkdir(parents=True)
    (dci / "src/debian_cloud_images/test/pytest").mkdir(parents=True)
    (dci / "src/debian_cloud_images/test/pytest/mount.py").write_text("")
    monkeypatch.setenv(upstream.ENV, str(dci))
    assert upstream.checkout() == dci
    assert upstream.checkout(use_env=False) is None  # --no-dci
    with pytest.raises(OverlayError, match="--dci=.* is not a debian-cloud-images checkout") as info:
        upstream.checkout(tmp_path)
    assert "--no-dci" in (info.value.hint or "")


def test_upstream_runs_with_its_plugin_and_build_info(tmp_path: Path) -> None:
    m = manifest(tmp_path, {"hello": "sha256:cc"})
    argv = upstream.argv(Path("/dci"), Path("/mnt"), Path("/out/u.xml"))
    assert argv[1:3] == ["-m", "pytest"] and argv[-1] == "/dci/system_tests/image"
    assert ["-p", upstream.PLUGIN] == argv[argv.index(upstream.PLUGIN) - 1 : argv.index(upstream.PLUGIN) + 1]
    assert (
        "no:cacheprovider" in argv
        and ["--mount-path", "/mnt"] == argv[argv.index("/mnt") - 1 : argv.index("/mnt") + 1]
    )
    env = upstream.env(Path("/dci"), m)
    assert env["PYTHONPATH"] == "/dci/src" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert (
        json.loads(env["CLOUD_BUILD_INFO"])["arch"] == "amd64" and env["CLOUD_RELEASE_ID"] == "genericcloud"
    )
