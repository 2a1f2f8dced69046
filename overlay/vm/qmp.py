"""A minimal QMP client: enough to find the ports QEMU forwards to the guest."""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.core.errors import BuildFailed

# `info usernet`: a "Hub -1 (n0):" header per user-mode netdev, then one line per socket, e.g.
#   TCP[HOST_FORWARD]  14       127.0.0.1 42857       10.0.2.15    22     0     0
NETDEV_RE = re.compile(r"^Hub\s+-?\d+\s+\((?P<netdev>[^)]*)\):", re.M)
HOSTFWD_RE = re.compile(
    r"HOST_FORWARD\]?\s+\d+\s+(?P<host>\S+)\s+(?P<host_port>\d+)\s+(?P<guest>\S+)\s+(?P<port>\d+)\b"
)


@dataclass(frozen=True)
class HostForward:
    netdev: str  # the -netdev id, n<index of the NIC>
    host_port: int
    guest_address: str
    guest_port: int


def parse_usernet(text: str) -> list[HostForward]:
    """The TCP forwards in QEMU's `info usernet` output, with the netdev each belongs to."""
    heads = list(NETDEV_RE.finditer(text))
    out = []
    for i, head in enumerate(heads):
        body = text[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        for m in HOSTFWD_RE.finditer(body):
            out.append(HostForward(head["netdev"], int(m["host_port"]), m["guest"], int(m["port"])))
    return out


def host_port(forwards: list[HostForward], netdev: str, port: int, text: str = "") -> int:
    """The host port of the forward to guest `port` on `netdev`."""
    for f in forwards:
        if f.netdev == netdev and f.guest_port == port:
            return f.host_port
    raise BuildFailed(f"no forward to guest port {port} on {netdev} in QEMU's 'info usernet':\n{text}")


class Qmp:
    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise BuildFailed(f"QEMU's monitor socket {path} did not appear") from None
                time.sleep(0.2)
        self.buffer = b""
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BuildFailed("QEMU closed its monitor connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def execute(self, command: str, **arguments: Any) -> Any:
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise BuildFailed(f"QMP {command} failed: {reply['error'].get('desc')}")
            return reply.get("return")

    def usernet(self) -> str:
        return str(self.execute("human-monitor-command", **{"command-line": "info usernet"}) or "")

    def forwards(self) -> list[HostForward]:
        return parse_usernet(self.usernet())

    def ssh_port(self) -> int:
        text = self.usernet()
        return host_port(parse_usernet(text), "n0", 22, text)

    def close(self) -> None:
        self.sock.close()
