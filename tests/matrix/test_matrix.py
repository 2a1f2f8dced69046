"""Every blend x architecture x base: build, offline checks, live boot.

Run with `.venv/bin/pytest -m matrix` (hours under TCG). The official config
space needs FAI_OVERLAY_DCI; without it those cells skip, saying so. Results
are collected in test-artifacts/matrix.json.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import EXAMPLES, cli

pytestmark = pytest.mark.matrix

BLENDS = ["slim", "extra-packages", "octavia-amphora", "secure-boot"]
# ppc64el uses forky: the mirror's trixie ppc64el pool is incomplete (docs/build.md).
ARCHES = {
    "amd64": ("trixie", "genericcloud"),
    "arm64": ("trixie", "genericcloud"),
    "ppc64el": ("forky", "generic"),
}
NOT_APPLICABLE = {("secure-boot", "ppc64el"): "ppc64el has no UEFI Secure Boot"}
# The amphora boots and load-balances on amd64 and arm64 (its controller chroot runs under
# qemu-user there); on ppc64el it is built and checked offline.
NO_BOOT = {("octavia-amphora", "ppc64el")}


def cells() -> list[tuple[str, str, str]]:
    return [
        (b, a, base)
        for b in BLENDS
        for a in ARCHES
        for base in ("embedded", "dci")
        if (b, a) not in NOT_APPLICABLE
    ]


def firmwares(blend: str, arch: str) -> list[str]:
    if blend == "secure-boot" and arch == "amd64":
        return ["--firmware", "secureboot", "--firmware", "uefi"]
    return []


def live_tests(report: Path) -> dict[str, object]:
    """The live checks of a boot, by name: seconds, or what failed (the amphora's phases)."""
    if not report.exists():
        return {}
    out: dict[str, object] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = next(
            (c.get("message", c.tag) for c in case if c.tag in ("failure", "error", "skipped")), None
        )
        out[case.get("name", "")] = problem or round(float(case.get("time", 0)), 1)
    return out


def record(artifacts, cell: str, result: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    path = artifacts / "matrix.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[cell] = result
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.mark.parametrize(("blend", "arch", "base"), cells(), ids=lambda v: str(v))
def test_cell(builder, blend: str, arch: str, base: str) -> None:  # type: ignore[no-untyped-def]
    if base == "dci" and not os.environ.get("FAI_OVERLAY_DCI"):
        pytest.skip("FAI_OVERLAY_DCI is not set: no official config space to build on")
    release, vendor = ARCHES[arch]
    definition = EXAMPLES / (f"{blend}-dci.yaml" if base == "dci" else f"{blend}.yaml")
    cell = f"{blend}/{arch}/{base}"
    built = builder.build(
        definition, "--arch", arch, "--release", release, "--vendor", vendor, key=cell.replace("/", "-")
    )
    image = built.raw if built.raw.exists() else built.qcow2
    result: dict[str, object] = {
        "build_seconds": round(built.seconds, 1),
        "packages": len(built.package_names()),
        "qcow2": built.qcow2.stat().st_size if built.qcow2.exists() else None,
    }
    test = cli("test", image)
    result["offline"] = "passed" if test.returncode == 0 else test.stderr.strip().splitlines()[-1]
    if (blend, arch) not in NO_BOOT:
        boot = cli("boot", image, *firmwares(blend, arch))
        result["live"] = "passed" if boot.returncode == 0 else boot.stderr.strip().splitlines()[-1]
        boot_json = built.out_dir / f"{built.name}.boot.json"
        if boot_json.exists():
            result["boot"] = json.loads(boot_json.read_text())
        if blend == "octavia-amphora":
            result["live_tests"] = live_tests(built.out_dir / f"{built.name}.boot.junit.xml")
    record(builder.artifacts, cell, result)
    assert result["offline"] == "passed", result["offline"]
    assert result.get("live", "passed") == "passed", result.get("live")
