"""A small HTTP forward proxy for tests: apt and debootstrap send it absolute-URI GETs,
and CONNECT for https sources.

It fetches each plain-http URL itself and streams the answer back; a CONNECT
is tunnelled byte for byte to the host and port asked. It records the
requests and the Proxy-Authorization it received.
"""

from __future__ import annotations

import base64
import http.server
import selectors
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

HOP_HEADERS = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
               "transfer-encoding", "upgrade"}  # fmt: skip


@dataclass
class Seen:
    requests: list[str] = field(default_factory=list)
    credentials: set[str] = field(default_factory=set)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Seen
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _record(self, request: str) -> None:
        self.seen.requests.append(request)
        auth = self.headers.get("Proxy-Authorization", "")
        if auth.startswith("Basic "):
            self.seen.credentials.add(base64.b64decode(auth[6:]).decode(errors="replace"))

    def _forward(self, head: bool) -> None:
        self._record(self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
        request = urllib.request.Request(self.path, headers=headers, method="HEAD" if head else "GET")
        try:
            response = self.opener.open(request, timeout=120)
        except urllib.error.HTTPError as exc:
            response = exc
        except OSError:
            self.send_error(502)
            return
        with response:
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.end_headers()
            if not head:
                shutil.copyfileobj(response, self.wfile, 1 << 16)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._forward(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._forward(head=True)

    def do_CONNECT(self) -> None:  # noqa: N802
        self._record(f"CONNECT {self.path}")
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=60)
        except (OSError, ValueError):
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        with upstream:
            _tunnel(self.connection, upstream)


def _tunnel(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until one side closes."""
    peer = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        for end in peer:
            end.setblocking(True)
            selector.register(end, selectors.EVENT_READ)
        while ready := selector.select(timeout=120):
            for key, _ in ready:
                end = client if key.fileobj is client else upstream
                data = end.recv(1 << 16)
                if not data:
                    return
                peer[end].sendall(data)


@contextmanager
def forward_proxy() -> Iterator[tuple[int, Seen]]:
    """A proxy on 127.0.0.1: yields its port and what it saw; stops on exit."""
    seen = Seen()
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
