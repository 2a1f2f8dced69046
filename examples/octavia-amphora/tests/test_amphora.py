"""The amphora's own checks: packages and units offline; the agent's mutual-TLS API live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PACKAGES = ["octavia-agent", "haproxy", "keepalived", "ipvsadm", "cryptsetup"]
CURL = "curl --silent --show-error --max-time 20 --cacert /root/fai-overlay-amphora/server_ca.pem"


@pytest.mark.offline
@pytest.mark.parametrize("package", PACKAGES)
def test_package_installed(fo, package: str) -> None:  # type: ignore[no-untyped-def]
    assert package in fo.packages()


@pytest.mark.offline
@pytest.mark.parametrize(
    ("unit", "state"),
    [
        ("octavia-agent.service", "enabled"),
        ("octavia-agent-certs-ramfs.service", "enabled"),
        ("haproxy.service", "disabled"),
    ],
)
def test_unit_state(image_root: Path, runner, unit: str, state: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(["systemctl", f"--root={image_root}", "is-enabled", unit], check=False)
    assert result.stdout.strip() == state, f"{unit} is {result.stdout.strip()!r}, expected {state}"


@pytest.mark.offline
def test_nonlocal_bind_configured(image_root: Path) -> None:
    text = (image_root / "etc/sysctl.d/60-fai-overlay-amphora.conf").read_text()
    assert "net.ipv4.ip_nonlocal_bind = 1" in text


@pytest.mark.offline
def test_disk_fits_the_reference_flavor(fo) -> None:  # type: ignore[no-untyped-def]
    raw = next(o for o in fo.manifest.outputs if o.format in ("raw", "qcow2"))
    assert fo.manifest.image.size == "2G", "Octavia's reference flavor has a 2 GB disk"
    assert raw.file


@pytest.mark.live
def test_kernel_tuning_active(host) -> None:  # type: ignore[no-untyped-def]
    assert host.sysctl("net.ipv4.ip_nonlocal_bind") == 1
    assert host.sysctl("net.ipv6.ip_nonlocal_bind") == 1


@pytest.mark.live
def test_agent_listens_on_9443(host) -> None:  # type: ignore[no-untyped-def]
    assert host.service("octavia-agent").is_running
    assert host.socket("tcp://0.0.0.0:9443").is_listening or host.socket("tcp://:::9443").is_listening
    assert not host.service("haproxy").is_enabled


@pytest.mark.live
def test_api_answers_with_client_certificate(host) -> None:  # type: ignore[no-untyped-def]
    out = host.check_output(
        f"{CURL} --cert /root/fai-overlay-amphora/client.pem https://127.0.0.1:9443/1.0/info"
    )
    info = json.loads(out)
    assert info["api_version"] == "1.0", info
    assert info["haproxy_version"] and info["hostname"]


@pytest.mark.live
def test_api_refuses_without_client_certificate(host) -> None:  # type: ignore[no-untyped-def]
    result = host.run(f"{CURL} https://127.0.0.1:9443/1.0/info")
    assert result.rc != 0, f"the agent answered without a client certificate: {result.stdout[:200]}"
    assert "certificate" in result.stderr.lower() or "alert" in result.stderr.lower(), result.stderr
