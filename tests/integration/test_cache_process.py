"""The package cache's own process: it listens on a port it can bind and leaves nothing running.
No image is built here, so the build lane does not start for this module."""

from __future__ import annotations

import socket

import pytest

from overlay.build import cache
from overlay.core.runner import Runner
from overlay.definition.spec import Cache

pytestmark = [pytest.mark.integration]


def test_the_cache_listens_and_stops_leaving_no_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """apt-cacher-ng 3.7 cannot bind ports above 32767: the cache must pick one it can."""
    with cache.running(Cache.auto, tmp_path / "apt", None, Runner()) as run:
        assert run is not None
        port = int(run.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /acng-report.html HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(64).startswith(b"HTTP/1.")
    assert run.use is not None and run.use.fetched_files == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
