"""A minimal QMP client: enough to find the forwarded ssh port."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from typing import Any

from overlay.core.errors import BuildFailed

HOSTFWD_RE = re.compile(r"HOST_FORWARD\]?\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+22\b")


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

    def ssh_port(self) -> int:
        text = self.execute("human-monitor-command", **{"command-line": "info usernet"})
        match = HOSTFWD_RE.search(text or "")
        if not match:
            raise BuildFailed(f"no ssh port forward in QEMU's 'info usernet':\n{text}")
        return int(match.group(1))

    def close(self) -> None:
        self.sock.close()
