"""The amphora's own checks: packages and units offline; live, Octavia's controller code drives it.

Live, the test plays Octavia's controller with Octavia's own code
(controller.py, run in a read-only chroot of this very image): it reaches the
agent over mutual TLS, plugs the VIP, uploads a haproxy configuration rendered
by Octavia's template, starts it, sends HTTP through the VIP to a backend the
test runs on the host, and verifies the signed heartbeats. The VM comes up as
tests/vm.yaml says (a config drive, a management NIC, a VIP NIC); tests/seed
made the PKI and the agent's configuration. See docs/amphora.md.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PACKAGES = ["octavia-agent", "haproxy", "keepalived", "ipvsadm", "cryptsetup"]
HERE = Path(__file__).resolve().parent
OVERLAY = HERE.parent.name
# The VIP network (tests/vm.yaml, nics[1]): slirp's host side 10.0.3.2 is the gateway, and
# connections to 10.0.3.2:<port> reach the host's 127.0.0.1:<port>, where the backend listens.
VIP, VRRP_IP, VIP_SUBNET, GATEWAY = "10.0.3.100", "10.0.3.15", "10.0.3.0/24", "10.0.3.2"
# What the guest says when a step fails
GUEST_LOGS = (
    "systemctl --no-pager status 'haproxy-*' amphora-netns octavia-agent-netns; "
    "journalctl --no-pager -b -n 80 -u 'haproxy-*' -u amphora-netns -u octavia-agent; "
    "tail -n 40 /var/log/octavia/octavia-agent.log /var/log/amphora-agent.log"
)


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


HAPROXY_UNIT = (
    "usr/lib/python3/dist-packages/octavia/amphorae/backends/agent/api_server/templates/systemd.conf.j2"
)


def haproxy_nofile(root: Path) -> int:
    """LimitNOFILE of the haproxy unit the agent writes per load balancer (its template in the image)."""
    match = re.search(r"^LimitNOFILE=(\d+)", (root / HAPROXY_UNIT).read_text(), re.M)
    assert match, f"no LimitNOFILE in /{HAPROXY_UNIT}"
    return int(match.group(1))


def boot_sysctl(root: Path, key: str) -> str | None:
    """The value systemd-sysctl sets at boot: sysctl.d files sorted by name across directories, last wins."""
    files: dict[str, Path] = {}
    for directory in ("usr/lib/sysctl.d", "run/sysctl.d", "etc/sysctl.d"):  # later ones override a name
        for path in sorted((root / directory).glob("*.conf")):
            files[path.name] = path
    value = None
    for name in sorted(files):
        path = files[name]
        if path.is_symlink():  # resolved inside the image, never on the host
            link = os.readlink(path)
            path = root / link.lstrip("/") if link.startswith("/") else path.parent / link
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            k, sep, v = line.partition("=")
            if sep and not k.lstrip().startswith(("#", ";")) and k.strip().lstrip("-") == key:
                value = v.strip()
    return value


@pytest.mark.offline
def test_haproxy_units_file_limit_fits_under_nr_open(image_root: Path) -> None:
    limit = haproxy_nofile(image_root)
    nr_open = boot_sysctl(image_root, "fs.nr_open")
    assert nr_open is not None and int(nr_open) >= limit, (
        f"fs.nr_open at boot is {nr_open}, below the haproxy unit's LimitNOFILE={limit}: "
        "systemd would refuse to start haproxy (Failed at step LIMITS)"
    )


@pytest.mark.offline
def test_disk_fits_the_reference_flavor(fo) -> None:  # type: ignore[no-untyped-def]
    raw = next(o for o in fo.manifest.outputs if o.format in ("raw", "qcow2"))
    assert fo.manifest.image.size == "2G", "Octavia's reference flavor has a 2 GB disk"
    assert raw.file


@pytest.mark.live
def test_kernel_tuning_active(host, image_root: Path) -> None:  # type: ignore[no-untyped-def]
    assert host.sysctl("net.ipv4.ip_nonlocal_bind") == 1
    assert host.sysctl("net.ipv6.ip_nonlocal_bind") == 1
    assert host.sysctl("fs.nr_open") >= haproxy_nofile(image_root)


@pytest.mark.live
def test_agent_listens_on_9443(host) -> None:  # type: ignore[no-untyped-def]
    assert host.service("octavia-agent").is_running
    assert host.socket("tcp://0.0.0.0:9443").is_listening or host.socket("tcp://:::9443").is_listening
    assert not host.service("haproxy").is_enabled


def curl(fo, runner, *cert: str):  # type: ignore[no-untyped-def]
    """GET /1.0/info from the host, through the management NIC's forward, as a controller would."""
    seed = fo.seed_dir(OVERLAY)
    return runner.run(
        ["curl", "--silent", "--show-error", "--max-time", "20", "--cacert", str(seed / "server_ca.pem"),
         *cert, f"https://127.0.0.1:{fo.forwarded(9443)}/1.0/info"],
        check=False,
    )  # fmt: skip


@pytest.mark.live
def test_api_answers_with_client_certificate(fo, runner) -> None:  # type: ignore[no-untyped-def]
    result = curl(fo, runner, "--cert", str(fo.seed_dir(OVERLAY) / "client.pem"))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["api_version"] == "1.0", info
    assert info["haproxy_version"] and info["hostname"]


@pytest.mark.live
def test_api_refuses_without_client_certificate(fo, runner) -> None:  # type: ignore[no-untyped-def]
    result = curl(fo, runner)
    assert result.returncode != 0, f"the agent answered without a client certificate: {result.stdout[:200]}"
    assert "certificate" in result.stderr.lower() or "alert" in result.stderr.lower(), result.stderr


class Backend(http.server.ThreadingHTTPServer):
    """The load balancer's member: an HTTP server on the host that answers with a body of its own."""

    daemon_threads = True

    def __init__(self) -> None:
        self.body = f"fai-overlay backend {uuid.uuid4()}\n".encode()
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    server: Backend

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Controller:
    """Runs controller.py's steps in the image's chroot; keeps what the steps learnt."""

    jail: Any  # overlay.verify.chroot.Chroot
    params: dict[str, Any]
    backend: Backend
    heartbeats: socket.socket
    state: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str, timeout: float = 600, guest: Any = None, **extra: Any) -> dict[str, Any]:
        """Run a step; if it fails, say why, with the agent's and haproxy's logs from `guest` (host)."""
        (self.jail.scratch / "params.json").write_text(json.dumps({**self.params, **extra}))
        result = self.jail.run(["python3", "/mnt/controller.py", name], timeout=timeout)
        if result.returncode != 0:
            logs = guest.run(GUEST_LOGS).stdout[-6000:] if guest is not None else ""
            pytest.fail(
                f"controller step {name} failed ({result.returncode}):\n{result.stderr[-3000:]}\n{logs}"
            )
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        self.state[name] = answer
        return answer

    def needs(self, name: str) -> dict[str, Any]:
        if name not in self.state:
            pytest.fail(f"this needs the controller step {name!r}, which did not succeed", pytrace=False)
        return dict(self.state[name])

    def drain(self) -> None:
        self.heartbeats.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                self.heartbeats.recv(65536)

    def receive(self, seconds: float) -> list[bytes]:
        out: list[bytes] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.heartbeats.settimeout(left)
            try:
                out.append(self.heartbeats.recv(65536))
            except TimeoutError:
                break
        return out


@pytest.fixture(scope="module")
def controller(fo, image_chroot) -> Iterator[Controller]:  # type: ignore[no-untyped-def]
    seed = fo.seed_dir(OVERLAY)
    params = json.loads((seed / "params.json").read_text())
    for name in ("client.pem", "rogue.pem", "server_ca.pem"):
        shutil.copyfile(seed / name, image_chroot.scratch / name)
    shutil.copyfile(HERE / "controller.py", image_chroot.scratch / "controller.py")
    backend = Backend()
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    heartbeats = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    heartbeats.bind(("127.0.0.1", params["heartbeat_port"]))
    params.update(
        agent_port=fo.forwarded(9443), vip=VIP, vrrp_ip=VRRP_IP, vip_subnet=VIP_SUBNET, gateway=GATEWAY,
        vip_mac=fo.nics[1]["mac"], member_ip=GATEWAY, member_port=backend.server_address[1],
        lb_id=str(uuid.uuid4()), listener_id=str(uuid.uuid4()), pool_id=str(uuid.uuid4()),
        member_id=str(uuid.uuid4()),
    )  # fmt: skip
    try:
        yield Controller(image_chroot, params, backend, heartbeats)
    finally:
        backend.shutdown()
        backend.server_close()
        heartbeats.close()


def through_vip(fo, attempts: int = 10) -> bytes:  # type: ignore[no-untyped-def]
    """GET / from the host to the VIP's port 80 (QEMU forwards it on the VIP NIC)."""
    url = f"http://127.0.0.1:{fo.forwarded(80, nic=1)}/"
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=20) as response:
                return bytes(response.read())
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(3)
    raise AssertionError("unreachable")


@pytest.mark.live
def test_controller_reaches_the_agent(fo, host, controller) -> None:  # type: ignore[no-untyped-def]
    answer = controller.step("info", guest=host)
    assert answer["api_version"] == "1.0" and answer["info"]["api_version"] == "1.0", answer
    assert answer["info"]["haproxy_version"], answer["info"]
    assert answer["details"]["listeners"] == [], "a fresh amphora runs no listener"
    assert answer["details"]["topology"] == "SINGLE", answer["details"]
    # the configuration the drive delivered is what Octavia's own templater makes
    delivered = configparser.ConfigParser(interpolation=None)
    delivered.read(fo.seed_dir(OVERLAY) / "injected/etc/octavia/amphora-agent.conf")
    rendered = configparser.ConfigParser(interpolation=None)
    rendered.read_string(answer["agent_conf"])
    as_dict = {s: dict(rendered[s]) for s in rendered.sections()}
    assert {s: dict(delivered[s]) for s in delivered.sections()} == as_dict
    controller.params.update(haproxy_version=answer["info"]["haproxy_version"], details=answer["details"])


@pytest.mark.live
def test_plug_vip_moves_the_vip_nic_into_the_namespace(host, controller) -> None:  # type: ignore[no-untyped-def]
    controller.needs("info")
    answer = controller.step("plug", guest=host)
    assert answer["status"] == 202, answer
    addresses = host.check_output("ip netns exec amphora-haproxy ip -4 -o addr show dev eth1")
    assert f"{VIP}/32" in addresses and f"{VRRP_IP}/24" in addresses, addresses


@pytest.mark.live
def test_octavias_haproxy_configuration_is_uploaded_and_started(host, controller) -> None:  # type: ignore[no-untyped-def]
    controller.needs("plug")
    controller.drain()  # heartbeats queued since the boot say nothing about the listener
    answer = controller.step("load", guest=host)
    assert (answer["upload"], answer["start"]) == (202, 202), answer
    params = controller.params
    assert f"frontend {params['listener_id']}" in answer["config"]
    assert f"bind {VIP}:80" in answer["config"]
    assert f"server {params['member_id']} {GATEWAY}:{params['member_port']}" in answer["config"]
    params["config"] = answer["config"]


@pytest.mark.live
def test_http_through_the_vip_reaches_the_backend(fo, controller) -> None:  # type: ignore[no-untyped-def]
    controller.needs("load")
    assert through_vip(fo) == controller.backend.body
    assert controller.backend.requests, "the backend saw no request"


@pytest.mark.live
def test_heartbeats_are_signed_and_name_the_listener(fo, controller) -> None:  # type: ignore[no-untyped-def]
    controller.needs("load")
    params = controller.params
    deadline = time.monotonic() + 20 * params["heartbeat_interval"]
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        datagrams = controller.receive(2 * params["heartbeat_interval"] + 1)
        if not datagrams:
            continue
        answer = controller.step("heartbeat", datagrams=[base64.b64encode(d).decode() for d in datagrams])
        assert not answer["errors"], f"heartbeats that do not verify with the key: {answer['errors']}"
        assert answer["wrong_key"] == "InvalidHMACException", "a heartbeat verified with the wrong key"
        messages += answer["messages"]
        if any(params["listener_id"] in m.get("listeners", {}) for m in messages):
            break
    assert messages, f"no heartbeat reached 127.0.0.1:{params['heartbeat_port']}"
    assert all(m["id"] == params["amp_id"] for m in messages), messages
    named = [m for m in messages if params["listener_id"] in m.get("listeners", {})]
    assert named, f"no heartbeat names the listener: {messages[-1]}"
    assert named[-1]["listeners"][params["listener_id"]]["status"] == "OPEN", named[-1]
    members = named[-1]["pools"][f"{params['pool_id']}:{params['listener_id']}"]["members"]
    assert params["member_id"] in members, named[-1]


@pytest.mark.live
def test_client_certificate_from_another_ca_is_refused(controller) -> None:  # type: ignore[no-untyped-def]
    answer = controller.step("rogue")
    assert answer["refused"], f"the agent answered a client certificate from another CA: {answer}"
    assert "unknown ca" in answer["error"].lower() or "alert" in answer["error"].lower(), answer["error"]


@pytest.mark.live
def test_broken_configuration_is_refused_and_the_listener_keeps_serving(fo, host, controller) -> None:  # type: ignore[no-untyped-def]
    controller.needs("load")
    answer = controller.step("broken", guest=host)
    assert answer["refused"] == "InvalidRequest", answer
    assert answer["response"] and answer["response"]["status"] == 400, answer
    assert "this_is_broken" in json.dumps(answer["response"]["body"]), answer["response"]
    assert answer["running_config"] == controller.params["config"], (
        "the agent replaced the running configuration"
    )
    assert answer["listeners"] == [controller.params["listener_id"]], answer["listeners"]
    requests = len(controller.backend.requests)
    assert through_vip(fo) == controller.backend.body
    assert len(controller.backend.requests) > requests
