"""Octavia's controller, played with Octavia's own code: runs in a chroot of the amphora image.

The live test (test_amphora.py) runs `python3 /mnt/controller.py STEP` in a
read-only chroot of the image under test, so the client, the templates and
the heartbeat envelope are exactly the image's python3-octavia. The host
writes /mnt/params.json before each step; the step prints one JSON line.
The chroot shares the host's network: the agent is at 127.0.0.1:<the port
QEMU forwards to the guest's 9443>.

Steps: info, plug, load, heartbeat, rogue, broken (see each function).
"""

import base64
import json
import logging
import sys
import time

from octavia.amphorae.backends.agent import agent_jinja_cfg
from octavia.amphorae.backends.health_daemon import status_message
from octavia.amphorae.driver_exceptions import exceptions as driver_exceptions
from octavia.amphorae.drivers.haproxy import exceptions as agent_exceptions
from octavia.amphorae.drivers.haproxy import rest_api_driver
from octavia.common import config as _registers_options  # noqa: F401
from octavia.common import constants as c
from octavia.common import data_models as dm
from octavia.common import exceptions as octavia_exceptions
from octavia.common.jinja.haproxy.combined_listeners import jinja_cfg
from octavia.network import data_models as network_models
from oslo_config import cfg
from oslo_log import log as oslo_log

CONF = cfg.CONF
P = json.load(open("/mnt/params.json"))


def configure(client_cert: str = "/mnt/client.pem") -> None:
    oslo_log.register_options(CONF)
    CONF([], project="octavia", default_config_files=[], default_config_dirs=[])
    for key, value in {
        "client_cert": client_cert,
        "server_ca": "/mnt/server_ca.pem",
        "bind_port": P["agent_port"],  # the URL's port: the host side of QEMU's forward
        # Octavia's defaults (120 retries, 5 s apart) would turn a failure into a 10-minute hang
        "connection_max_retries": 3,
        "connection_retry_interval": 2,
        "rest_request_read_timeout": 180,  # plugging and starting take a while under TCG
        # a TLS handshake with the agent on a loaded TCG guest can take longer than the 10 s default:
        # a timeout must not pass for a refused rogue certificate, nor fail a step that would succeed
        "rest_request_conn_timeout": 60,
    }.items():
        CONF.set_override(key, value, group="haproxy_amphora")
    CONF.set_override("heartbeat_key", P["heartbeat_key"], group="health_manager")
    CONF.set_override("heartbeat_interval", P["heartbeat_interval"], group="health_manager")
    CONF.set_override("controller_ip_port_list", [P["controller"]], group="health_manager")


def amphora() -> dm.Amphora:
    amp = dm.Amphora(
        id=P["amp_id"], lb_network_ip="127.0.0.1", status=c.AMPHORA_ALLOCATED, role=c.ROLE_STANDALONE,
        vrrp_ip=P["vrrp_ip"], ha_ip=P["vip"],
    )  # fmt: skip
    amp.api_version = "1.0"
    return amp


def info() -> dict:
    """Wait for the agent as the controller does after boot; get_info, get_details; the agent config."""
    amp = amphora()
    wait = {c.REQ_CONN_TIMEOUT: 10, c.REQ_READ_TIMEOUT: 60, c.CONN_MAX_RETRIES: 36, c.CONN_RETRY_INTERVAL: 5}
    version = rest_api_driver.AmphoraAPIClientBase().get_api_version(amp, timeout_dict=wait)
    client = rest_api_driver.AmphoraAPIClient1_0()
    amp.api_version = version["api_version"]
    answers = {
        "api_version": version["api_version"],
        "info": client.get_info(amp),
        "details": client.get_details(amp),
    }
    # What Octavia's controller would write on the config drive for this amphora (its agent
    # listens on 9443; only this controller reaches it through another port)
    CONF.set_override("bind_port", 9443, group="haproxy_amphora")
    templater = agent_jinja_cfg.AgentJinjaTemplater()
    answers["agent_conf"] = templater.build_agent_config(P["amp_id"], c.TOPOLOGY_SINGLE)
    return answers


def plug() -> dict:
    """plug_vip with the net_info Octavia's driver builds from the VIP port and subnet."""
    port = network_models.Port(
        id="vip-port", mac_address=P["vip_mac"], network=network_models.Network(id="vip-net", mtu=1500)
    )
    subnet = network_models.Subnet(
        id="vip-subnet", cidr=P["vip_subnet"], gateway_ip=P["gateway"], host_routes=[]
    )
    amp = amphora()
    net_info = rest_api_driver.HaproxyAmphoraLoadBalancerDriver._build_net_info(
        None, port.to_dict(recurse=True), amp.to_dict(), subnet.to_dict(recurse=True), 1500
    )
    response = rest_api_driver.AmphoraAPIClient1_0().plug_vip(amp, P["vip"], net_info)
    return {"status": response.status_code, "body": response.json(), "net_info": net_info}


def models() -> tuple[dm.Amphora, dm.LoadBalancer, dm.Listener]:
    """One load balancer, one HTTP listener on the VIP's port 80, one pool with one member."""
    amp = amphora()
    vip = dm.Vip(ip_address=P["vip"], load_balancer_id=P["lb_id"])
    lb = dm.LoadBalancer(
        id=P["lb_id"],
        project_id="fai-overlay",
        enabled=True,
        vip=vip,
        topology=c.TOPOLOGY_SINGLE,
        amphorae=[amp],
    )
    amp.load_balancer = lb
    pool = dm.Pool(
        id=P["pool_id"], protocol=c.PROTOCOL_HTTP, lb_algorithm=c.LB_ALGORITHM_ROUND_ROBIN, enabled=True,
        load_balancer=lb, provisioning_status=c.ACTIVE, operating_status=c.ONLINE,
    )  # fmt: skip
    member = dm.Member(
        id=P["member_id"], ip_address=P["member_ip"], protocol_port=P["member_port"], weight=1, enabled=True,
        backup=False, pool=pool, provisioning_status=c.ACTIVE, operating_status=c.ONLINE,
    )  # fmt: skip
    pool.members = [member]
    listener = dm.Listener(
        id=P["listener_id"], protocol=c.PROTOCOL_HTTP, protocol_port=80, enabled=True, load_balancer=lb,
        default_pool=pool, pools=[pool], connection_limit=-1, provisioning_status=c.ACTIVE,
    )  # fmt: skip
    pool.listeners = [listener]
    lb.listeners, lb.pools = [listener], [pool]
    return amp, lb, listener


def render(amp: dm.Amphora, listener: dm.Listener) -> str:
    """The haproxy configuration, by Octavia's template, built as its amphora driver builds it."""
    templater = jinja_cfg.JinjaTemplater(
        base_amp_path=CONF.haproxy_amphora.base_path,
        base_crt_dir=CONF.haproxy_amphora.base_cert_dir,
        haproxy_template=CONF.haproxy_amphora.haproxy_template,
        connection_logging=CONF.haproxy_amphora.connection_logging,
    )
    return templater.build_config(
        host_amphora=amp, listeners=[listener], tls_certs={},
        haproxy_versions=P["haproxy_version"].split(".")[:2], amp_details=P["details"],
    )  # fmt: skip


def load() -> dict:
    """upload_config with the rendered configuration, then start the load balancer."""
    amp, lb, listener = models()
    config = render(amp, listener)
    client = rest_api_driver.AmphoraAPIClient1_0()
    upload = client.upload_config(amp, lb.id, config)
    start = client.start_listener(amp, lb.id)
    return {"config": config, "upload": upload.status_code, "start": start.status_code}


def heartbeat() -> dict:
    """Unwrap the datagrams the host received, with the key; a wrong key must not verify."""
    messages, errors = [], []
    for data in (base64.b64decode(d) for d in P["datagrams"]):
        try:
            messages.append(status_message.unwrap_envelope(data, P["heartbeat_key"]))
        except octavia_exceptions.InvalidHMACException as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    wrong = "verified"
    if P["datagrams"]:
        try:
            status_message.unwrap_envelope(base64.b64decode(P["datagrams"][0]), "not-" + P["heartbeat_key"])
        except octavia_exceptions.InvalidHMACException as exc:
            wrong = type(exc).__name__
    return {"messages": messages, "errors": errors, "wrong_key": wrong}


def rogue() -> dict:
    """A client certificate from another CA: the TLS handshake must fail."""
    configure("/mnt/rogue.pem")
    try:
        answer = rest_api_driver.AmphoraAPIClient1_0().get_info(amphora(), raise_retry_exception=True)
    except driver_exceptions.AmpConnectionRetry as exc:
        return {"refused": True, "error": str(exc)}
    return {"refused": False, "answer": answer}


class Capture(logging.Handler):
    """check_exception logs the agent's answer before raising a bare exception: keep it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def broken() -> dict:
    """upload_config with a configuration haproxy refuses; then what the agent still runs."""
    amp, lb, listener = models()
    client = rest_api_driver.AmphoraAPIClient1_0()
    capture = Capture()
    logging.getLogger(agent_exceptions.__name__).addHandler(capture)
    bad = P["config"] + "    this_is_broken 1\n"
    try:
        client.upload_config(amp, lb.id, bad)
        refused, response = None, None
    except agent_exceptions.APIException as exc:
        refused = type(exc).__name__
        args = [r.args for r in capture.records if isinstance(r.args, tuple) and len(r.args) == 2]
        response = {"status": args[-1][0], "body": args[-1][1]} if args else None
    running = client.get(amp, f"loadbalancer/{lb.id}/haproxy")
    return {
        "refused": refused,
        "response": response,
        "running_config": running.text,
        "listeners": client.get_details(amp)["listeners"],
    }


if __name__ == "__main__":
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    step = sys.argv[1]
    if step != "rogue":
        configure()
    t0 = time.monotonic()
    result = {
        "info": info,
        "plug": plug,
        "load": load,
        "heartbeat": heartbeat,
        "rogue": rogue,
        "broken": broken,
    }[step]()
    result["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(result, default=str))
