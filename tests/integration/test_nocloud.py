"""The nocloud vendor (no cloud-init) in one command: build --test --boot, its exit code covering all three.

Without cloud-init there is no ssh key: the boot answers systemd-firstboot's root-password prompt on
the serial console, logs in as root there, and runs the checks that make sense without cloud-init.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import BUILD_ARGS, EXAMPLES, cli

pytestmark = pytest.mark.integration

CONSOLE_CHECKS = [
    "console: the first boot asked for the root password",
    "console: root logs in with that password",
    "console: the system is running",
    "console: no failed systemd units",
    "console: the root filesystem grew to the disk",
    "console: time sync is active",
    "console: DNS and apt-get update work",
]


def test_nocloud_builds_tests_and_boots_in_one_command(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    proc = cli(
        "build", EXAMPLES / "genericcloud.yaml", "--vendor", "nocloud", "--arch", "amd64",
        "-o", out, *BUILD_ARGS, "--test", "--boot", "--firmware", "bios",
    )  # fmt: skip
    (builder.artifacts / "builds" / "nocloud.stderr.txt").write_text(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    name = "debian-trixie-nocloud-amd64-base"
    manifest = json.loads((out / f"{name}.build.json").read_text())
    assert "cloud-init" not in {p["name"] for p in manifest["packages"]}
    assert " 0 failed" in (out / f"{name}.test.txt").read_text()
    cases = {c.get("name"): c for c in ET.parse(out / f"{name}.boot.junit.xml").getroot().iter("testcase")}
    for check in CONSOLE_CHECKS:
        assert check in cases, f"{check} did not run"
        assert cases[check].find("failure") is None and cases[check].find("error") is None, check
    assert json.loads((out / f"{name}.boot.json").read_text())["bios"]["ok"] is True
