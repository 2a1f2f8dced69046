"""Upstream's image tests as a second opinion (`fai-overlay test --dci`): the default image and a blend.

Needs a debian-cloud-images checkout in FAI_OVERLAY_DCI (the `dci` fixture skips, saying so).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import faults
from tests.support import cli

pytestmark = [pytest.mark.integration, pytest.mark.dci, pytest.mark.builds("default", "amphora")]


def upstream_cases(junit: Path) -> dict[str, ET.Element]:
    suites = [s for s in ET.parse(junit).getroot() if s.get("name") == "upstream"]
    assert len(suites) == 1, "no upstream suite in the junit file"
    return {f"{tc.get('classname')}.{tc.get('name')}": tc for tc in suites[0].iter("testcase")}


def test_default_image_differs_from_upstream_only_as_expected(builder, dci: Path) -> None:  # type: ignore[no-untyped-def]
    default = builder.image("default")
    proc = cli("test", default.raw, "--dci", dci)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = (default.out_dir / f"{default.name}.test.txt").read_text().splitlines()
    assert summary[0].startswith(f"offline checks of {default.name}: ")
    assert "(second opinion): " in summary[1] and " 0 failed unexpectedly" in summary[1], summary
    cases = upstream_cases(default.out_dir / f"{default.name}.test.junit.xml")
    assert len(cases) > 800
    clock = cases["upstream.image.test_etc.TestEtc.test_group_name[clock]"].find("skipped")
    assert clock is not None and "expected difference (base embedded)" in clock.get("message", "")


def test_amphora_blend_expects_its_accounts(builder, dci: Path) -> None:  # type: ignore[no-untyped-def]
    amphora = builder.image("amphora")
    proc = cli("test", amphora.qcow2, env={"FAI_OVERLAY_DCI": str(dci)})  # the environment names it
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = (amphora.out_dir / f"{amphora.name}.test.txt").read_text()
    assert "expected: image.test_etc.TestEtc.test_passwd_name[haproxy] (blend octavia-amphora:" in summary
    assert " 0 failed unexpectedly" in summary


def test_an_unexpected_upstream_failure_fails_the_test(builder, dci: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A fault only upstream checks (the default locale): ours pass, upstream's verdict fails the run."""
    default = builder.image("default")
    raw = faults.copy_image(default.raw, tmp_path)
    faults.plant(
        raw, [faults.Fault("locale", {}, root=faults.write("etc/default/locale", "LANG=de_DE.UTF-8\n"))]
    )
    proc = cli("test", raw, "--dci", dci)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "FAILED upstream: image.test_etc.TestEtc.test_etc_default_locale" in last
    cases = upstream_cases(tmp_path / f"{default.name}.test.junit.xml")
    assert cases["upstream.image.test_etc.TestEtc.test_etc_default_locale"].find("failure") is not None
    assert cli("test", raw, "--no-dci", env={"FAI_OVERLAY_DCI": str(dci)}).returncode == 0  # ours alone pass
