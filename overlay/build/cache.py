"""The package cache: a private apt-cacher-ng for one build (`cache: auto` or `offline`).

It is started just before fai-diskimage, on a free port of 127.0.0.1, with
its own configuration in a temporary directory and its files in
`cache_dir`, and stopped by its PID afterwards, whatever happens. debootstrap
and apt in the target reach it through the build-only proxy settings
(`http_proxy`, `Acquire::http::Proxy`), never through the image. Offline, it
serves only what it holds. Its log tells what it fetched from the mirror.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from overlay.core import log
from overlay.core.errors import BuildFailed
from overlay.core.runner import Process, Runner, require_tool
from overlay.definition.spec import Cache
from overlay.manifest.model import CacheUse

VOLATILE_RE = re.compile(r"/(InRelease|Release(\.gpg)?)$")  # revalidated on every use
READY_SECONDS = 10.0


def config(cache_dir: Path, run_dir: Path, port: int, upstream: str | None) -> str:
    """apt-cacher-ng's configuration: no remapping, so files are kept under their own host and path.
    Its log and control socket are the run's own (not the system service's /run/apt-cacher-ng)."""
    lines = [
        f"CacheDir: {cache_dir}",
        f"LogDir: {run_dir / 'log'}",
        f"SocketPath: {run_dir / 'socket'}",
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"Port: {port}",
        "BindAddress: 127.0.0.1",
        "ReportPage: acng-report.html",
        "ExThreshold: 4",
        "VerboseLog: 1",
        "UnbufferLogs: 1",
    ]
    if upstream:
        lines.append(f"Proxy: {upstream}")
    return "\n".join(lines) + "\n"


def argv(conf_dir: Path, offline: bool) -> list[str]:
    return ["apt-cacher-ng", "-c", str(conf_dir), "ForeGround=1", *(["Offlinemode=1"] if offline else [])]


def usage(text: str, mode: Cache) -> CacheUse:
    """What the cache did, from its log (`epoch|TYPE|bytes|client|path`): I fetched, O served."""
    fetched: list[str] = []
    fetched_bytes = served = 0
    for line in text.splitlines():
        parts = line.split("|", 4)
        if len(parts) < 5 or not parts[2].isdigit():
            continue
        if parts[1] == "I":
            fetched.append(parts[4])
            fetched_bytes += int(parts[2])
        elif parts[1] == "O":
            served += 1
    return CacheUse(
        mode=mode.value,
        served_files=served,
        fetched_files=len(fetched),
        fetched_bytes=fetched_bytes,
        fetched_packages=sum(1 for p in fetched if p.endswith(".deb")),
        fetched_indices=sum(1 for p in fetched if VOLATILE_RE.search(p)),
    )


# apt-cacher-ng 3.7 cannot bind a port above 32767 ("Error resolving address for binding"),
# and the kernel hands out ephemeral ports from 32768: so pick a free one below.
PORTS = range(20000, 32768)


def _free_port() -> int:
    for port in random.sample(PORTS, 64):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BuildFailed(f"no free port for the package cache in {PORTS.start}-{PORTS.stop - 1}")


def _wait_ready(port: int, process: Process) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BuildFailed(f"apt-cacher-ng stopped at once (exit {process.poll()})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise BuildFailed(f"apt-cacher-ng did not listen on 127.0.0.1:{port} within {READY_SECONDS:.0f}s")


@dataclass
class CacheRun:
    url: str
    log_file: Path
    mode: Cache
    use: CacheUse | None = field(default=None)


@contextlib.contextmanager
def running(mode: Cache, cache_dir: Path, upstream: str | None, runner: Runner) -> Iterator[CacheRun | None]:
    """The cache for one build (None for `cache: none`), stopped and summarised on the way out."""
    if mode is Cache.none:
        yield None
        return
    require_tool("apt-cacher-ng")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fai-overlay-cache.") as tmp:
        conf, logs = Path(tmp) / "conf", Path(tmp) / "log"
        conf.mkdir()
        logs.mkdir()
        port = _free_port()
        (conf / "acng.conf").write_text(config(cache_dir, Path(tmp), port, upstream))
        with (Path(tmp) / "stdout.log").open("wb") as out:
            process = runner.spawn(argv(conf, mode is Cache.offline), stdout=out)
        run = CacheRun(f"http://127.0.0.1:{port}", logs / "apt-cacher.log", mode)
        try:
            _wait_ready(port, process)
            log.info(
                f"package cache ({mode.value}): apt-cacher-ng pid {process.pid} on {run.url}, in {cache_dir}"
            )
            yield run
        finally:
            process.stop(grace=10)
            text = run.log_file.read_text(errors="replace") if run.log_file.is_file() else ""
            run.use = usage(text, mode)
            log.info(
                f"package cache: served {run.use.served_files} files, fetched {run.use.fetched_files} from "
                f"the mirror ({run.use.fetched_packages} packages, {run.use.fetched_bytes} bytes)"
            )
