"""The results page (rendered HTML, parsed here; the Chromium test is in tests/integration)."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

from overlay.core import junit
from overlay.publish import publisher
from overlay.publish.tree import Kind
from tests.fixtures import publishkit as kit

TODAY = dt.date(2026, 11, 26)


class Elements(HTMLParser):
    """Collects (tag, attrs) of every start tag and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, **attrs: str) -> list[dict[str, str]]:
        return [a for _, a in self.found if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def parse(path: Path) -> Elements:
    parser = Elements()
    parser.feed(path.read_text())
    return parser


def published(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    tests = kit.junit_xml(["checks.test_sshd", "checks.test_apt"], {"test_motd": "motd is empty"})
    boot = kit.junit_xml(["test_boot", "test_ssh_login"])
    kit.write_build(tmp_path / "a", kit.manifest_doc(), junit={"test": tests})
    doc = kit.manifest_doc(packages=[*kit.manifest_doc()["packages"], kit.package("hello", "2.10-5")])
    kit.write_build(tmp_path / "b", doc, junit={"test": kit.junit_xml(["test_motd"]), "boot": boot})
    for out in ("a", "b"):
        publisher.publish(tmp_path / out, root, Kind.daily, runner=kit.ConvertingRunner(), today=TODAY)
    return root


def test_rows_tests_diff_and_links(tmp_path: Path) -> None:
    page = parse(published(tmp_path) / "index.html")
    rows = page.having(**{"class": "image"})
    assert [(r["data-version"], r["data-image"]) for r in rows] == [
        ("20261126-2", kit.NAME),
        ("20261126-1", kit.NAME),
    ]
    failed = page.having(data_suite="test", data_status="failed")
    assert len(failed) == 1 and "failed" in failed[0]["class"].split()
    assert len(page.having(data_suite="test", data_status="passed")) == 1
    assert len(page.having(data_suite="boot", data_status="passed")) == 1
    assert len(page.having(data_suite="boot", data_status="missing")) == 1  # not run for build 1
    text = " ".join(page.text)
    assert "checks.test_motd" in text and "motd is empty" in text
    assert "Changes since 20261126-1: packages: 1 added, 0 removed, 0 changed" in text
    assert "+ hello:amd64 2.10-5" in text
    hrefs = {a["href"] for tag, a in page.found if tag == "a"}
    stem = "trixie/daily/20261126-2/debian-trixie-genericcloud-amd64-daily-20261126-2"
    for suffix in (".qcow2", ".raw", ".tar.xz", ".json", ".build.log", ".console.log", ".fai-logs/"):
        assert stem + suffix in hrefs, suffix
    assert "trixie/daily/20261126-2/SHA512SUMS" in hrefs and "trixie/daily/latest/" in hrefs
    assert "trixie/latest/" not in hrefs  # no release published: no dead link
    assert page.having(data_suite="build") == []  # in-build results only when the build made them


def test_page_has_no_external_assets_and_fits_phones(tmp_path: Path) -> None:
    page = parse(published(tmp_path) / "index.html")
    assert page.having(name="viewport", content="width=device-width, initial-scale=1")
    external = [a for tag, a in page.found if tag in ("link", "script", "img")]
    assert external == []
    hrefs = [a["href"] for tag, a in page.found if tag == "a"]
    assert not [h for h in hrefs if h.startswith(("http:", "https:", "//"))]


def test_empty_tree_page(tmp_path: Path) -> None:
    publisher.publish(None, tmp_path, Kind.daily, runner=kit.ConvertingRunner(), today=TODAY)
    assert "Nothing is published yet." in (tmp_path / "index.html").read_text()


def test_junit_parsing(tmp_path: Path) -> None:
    path = tmp_path / "x.junit.xml"
    path.write_text(
        '<testsuite><testcase name="a"/><testcase classname="k" name="b"><error message="boom"/></testcase>'
        '<testcase name="c"><skipped/></testcase></testsuite>'
    )
    summary = junit.parse(path)
    assert summary.status == "failed" and summary.count("skipped") == 1
    assert [(c.name, c.status, c.message) for c in summary.problems] == [("k.b", "error", "boom")]
    path.write_text("<testsuite")
    assert junit.parse(path).status == "unreadable"
