"""Acceptance 2: `check-updates` against the live mirror, on a real build's manifest.

Also issue 13: the real mirror's Release files pass signature verification, and
a trixie-security InRelease with one byte changed, served from a local HTTP
server, is refused. The signature check works on any build manifest:

    .venv/bin/python -m tests.integration.test_updates_live out/NAME.build.json
"""

from __future__ import annotations

import contextlib
import http.server
import json
import lzma
import re
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli

pytestmark = [pytest.mark.integration, pytest.mark.builds("default")]

SECURITY = "http://deb.debian.org/debian-security"


def security_versions(release: str, arch: str) -> dict[str, str]:
    """What trixie-security offers, read here independently of fai-overlay's own code."""
    url = f"{SECURITY}/dists/{release}-security/main/binary-{arch}/Packages.xz"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
        text = lzma.decompress(response.read()).decode()
    out = {}
    for para in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in para.splitlines() if ": " in line and line[0] != " ")
        if "Package" in fields:
            out[fields["Package"]] = fields["Version"]
    return out


def lowered(manifest: dict[str, Any], names: list[str], path: Path) -> Path:
    doc = json.loads(json.dumps(manifest))
    for pkg in doc["packages"]:
        if pkg["name"] in names:
            pkg["version"] = "0.1-1"  # older than any real version
    path.write_text(json.dumps(doc))
    return path


def test_todays_build_has_nothing_newer(builder) -> None:  # type: ignore[no-untyped-def]
    built = builder.image("default")
    proc = cli("check-updates", built.manifest_path, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["updates"] == [] and report["exit_code"] == 0
    assert report["suites"][:3] == ["trixie", "trixie-updates", "trixie-security"]


def test_lowered_versions_are_found_and_security_ones_flagged(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = builder.image("default")
    image = built.manifest["image"]
    security = security_versions(image["release"], image["arch"])
    packages = {p["name"]: p for p in built.manifest["packages"]}
    in_security = sorted(n for n in packages if n in security)
    plain = sorted(n for n in packages if n not in security and not n.startswith(("linux-", "libc6")))
    if not in_security:
        pytest.fail(f"no installed package is in {image['release']}-security today: cannot test the flag")
    # one package with a -security update, libc6 (needs a reboot) and one plain package
    chosen = list(dict.fromkeys([in_security[0], "libc6", plain[0]]))
    proc = cli("check-updates", lowered(built.manifest, chosen, tmp_path / "low.build.json"), "--json")
    report = json.loads(proc.stdout)
    got = {u["name"]: u for u in report["updates"]}
    assert sorted(got) == sorted(chosen), proc.stderr
    for name in chosen:
        assert got[name]["candidate"] == packages[name]["version"]  # what today's build installed
        assert got[name]["security"] is (name in security), name
    assert "needs-reboot" in got["libc6"]["flags"]
    assert report["security"] == sum(name in security for name in chosen) >= 1
    assert proc.returncode == 20 and report["exit_code"] == 20

    only_plain = lowered(built.manifest, plain[:2], tmp_path / "plain.build.json")
    proc = cli("check-updates", only_plain)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert "2 newer, 0 security" in proc.stdout


def tamper(inrelease: bytes) -> bytes:
    """One byte of the signed text changed: the first hex digit of the first SHA256 entry."""
    at = inrelease.index(b"\nSHA256:\n ") + len(b"\nSHA256:\n ")
    flipped = b"1" if inrelease[at : at + 1] != b"1" else b"2"
    return inrelease[:at] + flipped + inrelease[at + 1 :]


@contextlib.contextmanager
def security_mirror(release: str, *, tampered: bool) -> Iterator[str]:
    """The security mirror copied on 127.0.0.1: its InRelease (tampered or not); other files passed on."""
    suite_path = f"/dists/{release}-security/InRelease"
    with urllib.request.urlopen(SECURITY + suite_path, timeout=60) as response:  # noqa: S310
        original = response.read()
    inrelease = tamper(original) if tampered else original
    assert len(inrelease) == len(original) and (inrelease != original) is tampered

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == suite_path:
                body = inrelease
            else:
                try:
                    with urllib.request.urlopen(SECURITY + self.path, timeout=60) as upstream:  # noqa: S310
                        body = upstream.read()
                except urllib.error.HTTPError as exc:
                    self.send_error(exc.code)
                    return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_signatures(manifest: Path) -> list[str]:
    """The real mirror passes verification; a tampered -security InRelease is exit 1 with the error.

    Returns what it saw, one line per run, for a report when run by hand.
    """
    release = json.loads(manifest.read_text())["image"]["release"]
    seen = []
    proc = cli("check-updates", manifest)
    seen.append(f"real mirror: exit {proc.returncode}")
    assert proc.returncode in (0, 10, 20), proc.stderr[-3000:]
    for suite in (release, f"{release}-updates", f"{release}-security"):
        line = rf"^verified {suite}: InRelease signed by Debian .*<ftpmaster@debian.org> \([0-9A-F]{{40}}\)$"
        assert re.search(line, proc.stdout, re.MULTILINE), proc.stdout
    with security_mirror(release, tampered=False) as url:  # the local server itself is not the problem
        proc = cli("check-updates", manifest, "--security-mirror", url)
    seen.append(f"local copy, untouched: exit {proc.returncode}")
    assert proc.returncode in (0, 10, 20), proc.stderr[-3000:]
    assert f"verified {release}-security: InRelease signed by Debian" in proc.stdout
    with security_mirror(release, tampered=True) as url:
        proc = cli("check-updates", manifest, "--security-mirror", url)
        error = proc.stderr.strip().splitlines()[-1]
        seen.append(f"local copy, one byte changed: exit {proc.returncode}: {error}")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert error.startswith(
            f"fai-overlay: error: {release}-security ({url}/dists/{release}-security): BAD signature from "
        ), error
    assert "on InRelease: it was changed" in error and proc.stdout == ""
    return seen


def test_release_signatures_are_verified_and_tampering_is_refused(builder) -> None:  # type: ignore[no-untyped-def]
    built = builder.image("default")
    check_signatures(built.manifest_path)


if __name__ == "__main__":
    print("\n".join(check_signatures(Path(sys.argv[1]))))
