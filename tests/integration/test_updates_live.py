"""Acceptance 2: `check-updates` against the live mirror, on a real build's manifest."""

from __future__ import annotations

import json
import lzma
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support import EXAMPLES, cli

pytestmark = pytest.mark.integration

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
    built = builder.build(EXAMPLES / "default.yaml", key="default")
    proc = cli("check-updates", built.manifest_path, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["updates"] == [] and report["exit_code"] == 0
    assert report["suites"][:3] == ["trixie", "trixie-updates", "trixie-security"]


def test_lowered_versions_are_found_and_security_ones_flagged(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = builder.build(EXAMPLES / "default.yaml", key="default")
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
