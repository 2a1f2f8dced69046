"""Blends (issue 4) in the README suite: the slim size target; the amphora load-balances, driven by
Octavia's own controller code (issue 11).

Every blend x architecture x base runs in the matrix (tests/matrix, `pytest -m matrix`).
"""

from __future__ import annotations

import json

import pytest

from tests.support import cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.builds("genericcloud", "slim", "amphora", "secure-boot", "default"),
]


def test_slim_is_at_least_40_percent_smaller(builder, genericcloud) -> None:  # type: ignore[no-untyped-def]
    reference = genericcloud
    slim = builder.image("slim")
    ref_size, slim_size = reference.qcow2.stat().st_size, slim.qcow2.stat().st_size
    report = {
        "genericcloud_qcow2": ref_size,
        "slim_qcow2": slim_size,
        "genericcloud_packages": len(reference.package_names()),
        "slim_packages": len(slim.package_names()),
        "reduction": round(1 - slim_size / ref_size, 3),
    }
    (builder.artifacts / "slim-size.json").write_text(json.dumps(report, indent=2))
    assert slim_size <= 0.6 * ref_size, f"slim is only {report['reduction']:.0%} smaller: {report}"
    assert len(slim.package_names()) < len(reference.package_names())
    proc = cli("test", slim.raw)
    assert proc.returncode == 0, proc.stderr[-3000:]


AMPHORA_LIVE = (
    "test_agent_listens_on_9443",
    "test_api_answers_with_client_certificate",
    "test_api_refuses_without_client_certificate",
    "test_controller_reaches_the_agent",
    "test_plug_vip_moves_the_vip_nic_into_the_namespace",
    "test_octavias_haproxy_configuration_is_uploaded_and_started",
    "test_http_through_the_vip_reaches_the_backend",
    "test_heartbeats_are_signed_and_name_the_listener",
    "test_client_certificate_from_another_ca_is_refused",
    "test_broken_configuration_is_refused_and_the_listener_keeps_serving",
)


def test_amphora_load_balances_driven_by_octavias_controller_code(builder) -> None:  # type: ignore[no-untyped-def]
    """One boot: the agent's mutual-TLS API, then Octavia's own controller code (docs/amphora.md)."""
    amphora = builder.image("amphora")
    assert {"octavia-agent", "haproxy", "keepalived", "ipvsadm", "cryptsetup"} <= amphora.package_names()
    assert amphora.manifest["image"]["size"] == "2G"
    proc = cli("test", amphora.qcow2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli("boot", amphora.qcow2, "--firmware", "bios")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (amphora.out_dir / f"{amphora.name}.boot.junit.xml").read_text()
    for test in AMPHORA_LIVE:
        assert f'name="{test}"' in report, f"{test} did not run"
    assert "<failure" not in report and "<skipped" not in report, "a live check of the amphora did not pass"


def test_secure_boot_blend_boots_enforced_and_locked_down(builder) -> None:  # type: ignore[no-untyped-def]
    image = builder.image("secure-boot")
    proc = cli("boot", image.qcow2, "--firmware", "secureboot")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (image.out_dir / f"{image.name}.boot.junit.xml").read_text()
    assert 'name="test_secure_boot_enabled_and_kernel_locked_down"' in report


def test_image_without_the_class_is_refused_under_secure_boot(builder) -> None:  # type: ignore[no-untyped-def]
    image = builder.image("default")
    proc = cli("boot", image.qcow2, "--firmware", "secureboot", "--expect-failure")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "UEFI Secure Boot refused the boot loader" in proc.stderr
    boot = json.loads((image.out_dir / f"{image.name}.boot.json").read_text())
    assert boot["secureboot"]["ok"] is False
