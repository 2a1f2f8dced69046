"""A small HTTP forward proxy for tests: apt and debootstrap send it absolute-URI GETs.

It fetches each URL itself (plain http, no CONNECT) and streams the answer
back; it records the requests and the Proxy-Authorization it received.
"""

from __future__ import annotations

import base64
import http.server
import shutil
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

    def _forward(self, head: bool) -> None:
        self.seen.requests.append(self.path)
        auth = self.headers.get("Proxy-Authorization", "")
        if auth.startswith("Basic "):
            self.seen.credentials.add(base64.b64decode(auth[6:]).decode(errors="replace"))
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
