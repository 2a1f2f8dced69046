"""Acceptance 5: the results page in headless Chromium, served over HTTP, at phone and desktop size."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from overlay.publish import publisher
from overlay.publish.tree import Kind
from tests.fixtures import publishkit as kit

pytestmark = pytest.mark.integration

TODAY = dt.date.today()
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE_CHECK = """<!doctype html><html><body>
<iframe id="f" src="tree/index.html" style="width:390px;height:844px;border:0"></iframe>
<script>
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument.documentElement;
  document.body.setAttribute("data-scroll-width", d.scrollWidth);
  document.body.setAttribute("data-client-width", d.clientWidth);
});
</script></body></html>
"""


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def where(self, **attrs: str) -> list[dict[str, str]]:
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [a for _, a in self.elements if all(a.get(k) == v for k, v in want.items())]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """A published tree with two dailies (one with a failed offline test), served over HTTP."""
    root = tmp_path / "site" / "tree"
    failing = kit.junit_xml(
        ["test_sshd_config", "test_apt_sources"], {"test_no_world_writable": "/etc/x is 0666"}
    )
    kit.write_build(
        tmp_path / "a", kit.manifest_doc(), junit={"test": failing, "boot": kit.junit_xml(["boot"])}
    )
    doc = kit.manifest_doc(packages=[*kit.manifest_doc()["packages"], kit.package("hello", "2.10-5")])
    passing = kit.junit_xml(["test_sshd_config", "test_no_world_writable"])
    kit.write_build(tmp_path / "b", doc, junit={"test": passing, "boot": kit.junit_xml(["boot", "ssh"])})
    for out in ("a", "b"):
        publisher.publish(tmp_path / out, root, Kind.daily, runner=kit.ConvertingRunner(), today=TODAY)
    (tmp_path / "site" / "phone-check.html").write_text(PHONE_CHECK)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def chromium(tmp_path: Path, *args: str) -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: apt-get install chromium (setup.sh does)", pytrace=False)
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_results_page_in_chromium(site: str, tmp_path: Path, artifacts: Path) -> None:
    dom = Dom()
    dom.feed(chromium(tmp_path, "--window-size=390,844", "--dump-dom", f"{site}/tree/index.html"))
    rows = dom.where(**{"class": "image"})
    assert [(r["data-kind"], r["data-version"]) for r in rows] == [
        ("daily", f"{TODAY:%Y%m%d}-2"),
        ("daily", f"{TODAY:%Y%m%d}-1"),
    ]
    assert {r["data-image"] for r in rows} == {kit.NAME}
    failed = dom.where(data_suite="test", data_status="failed")
    assert len(failed) == 1 and "failed" in failed[0]["class"].split()
    assert len(dom.where(data_suite="test", data_status="passed")) == 1
    assert len(dom.where(data_suite="boot", data_status="passed")) == 2
    text = " ".join(dom.text)
    assert "checks.test_no_world_writable" in text and "/etc/x is 0666" in text
    assert "packages: 1 added, 0 removed, 0 changed" in text

    # readable on a phone: nothing wider than a 390 px screen (less its scroll bar)
    check = Dom()
    check.feed(
        chromium(
            tmp_path,
            "--window-size=400,900",
            "--virtual-time-budget=5000",
            "--dump-dom",
            f"{site}/phone-check.html",
        )
    )
    (body,) = [a for tag, a in check.elements if tag == "body"]
    assert 360 <= int(body["data-client-width"]) <= 390, body
    assert int(body["data-scroll-width"]) <= int(body["data-client-width"]), body

    shots = artifacts / "publish"
    shots.mkdir(exist_ok=True)
    for name, size in (("index-phone.png", "390,1400"), ("index-desktop.png", "1280,1000")):
        (shots / name).unlink(missing_ok=True)
        chromium(
            tmp_path, f"--window-size={size}", f"--screenshot={shots / name}", f"{site}/tree/index.html"
        )
        assert (shots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
