"""The package cache: its configuration, its log, and how a build goes through it (no apt-cacher-ng runs)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from overlay.build import cache, run
from overlay.build.plan import MIRROR_CLASS, make_plan
from overlay.core import debian
from overlay.core.errors import BuildFailed
from overlay.definition.load import load_images
from overlay.definition.spec import Cache
from overlay.manifest import model
from tests.support import EXAMPLES

LOG = """\
1796191315|I|53344|127.0.0.1|deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb
1796191315|O|53313|127.0.0.1|deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb
1796191316|I|47300|127.0.0.1|deb.debian.org/debian/dists/trixie/InRelease
1796191316|O|47300|127.0.0.1|deb.debian.org/debian/dists/trixie/InRelease
1796191317|O|53313|127.0.0.1|deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb
1796191318|E|832|127.0.0.1| [HTTP error, code: 200]
garbage line
"""


def test_the_log_says_what_was_fetched_and_served() -> None:
    use = cache.usage(LOG, Cache.auto)
    assert (use.fetched_files, use.fetched_packages, use.fetched_indices) == (2, 1, 1)
    assert use.fetched_bytes == 53344 + 47300 and use.served_files == 3 and use.mode == "auto"
    assert cache.usage("", Cache.offline).fetched_files == 0


def test_configuration_and_command_line(tmp_path: Path) -> None:
    text = cache.config(tmp_path / "c", tmp_path / "run", 3199, "http://u:p@proxy:3128")
    assert f"CacheDir: {tmp_path / 'c'}\n" in text and "Port: 3199\n" in text
    # the run's own log and control socket, never the system service's /run/apt-cacher-ng
    assert f"LogDir: {tmp_path / 'run' / 'log'}\n" in text
    assert f"SocketPath: {tmp_path / 'run' / 'socket'}\n" in text
    assert "BindAddress: 127.0.0.1\n" in text and "Proxy: http://u:p@proxy:3128\n" in text
    assert "Remap" not in text  # files stay under their own host and path
    assert cache.argv(tmp_path, offline=True)[-1] == "Offlinemode=1"
    assert "Offlinemode=1" not in cache.argv(tmp_path, offline=False)


def test_the_port_is_one_apt_cacher_ng_can_bind() -> None:
    """apt-cacher-ng 3.7 fails on ports above 32767; the kernel's ephemeral ports start at 32768."""
    ports = {cache._free_port() for _ in range(20)}
    assert all(cache.PORTS.start <= p <= 32767 for p in ports)


def test_no_free_port_is_a_build_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cache.socket, "socket", _RefusingSocket)
    with pytest.raises(BuildFailed, match="no free port"):
        cache._free_port()


class _RefusingSocket:
    def __enter__(self) -> _RefusingSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def bind(self, address: object) -> None:
        raise OSError("in use")


def test_a_cached_build_reads_plain_http_sources_through_the_mirror_class(tmp_path: Path) -> None:
    (spec,) = load_images(EXAMPLES / "default.yaml", {"cache": "auto"})
    plan = make_plan(spec, tmp_path)
    assert MIRROR_CLASS in plan.class_names()
    assert plan.env["FAI_OVERLAY_MIRROR"] == debian.DEFAULT_MIRROR
    assert plan.env["FAI_OVERLAY_SECURITY_MIRROR"] == debian.DEFAULT_SECURITY_MIRROR
    assert "http_proxy" not in plan.env  # set when the cache runs: its port is free then
    (plain,) = load_images(EXAMPLES / "default.yaml")
    assert MIRROR_CLASS not in make_plan(plain, tmp_path).class_names()


def test_a_build_goes_through_the_cache_and_records_it(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build, simulation = setup({"cache": "offline", "apt_proxy": "http://u:secret@corp:3128"})
    seen: dict[str, object] = {}

    @contextlib.contextmanager
    def fake_running(mode, cache_dir, upstream, runner) -> Iterator[cache.CacheRun]:  # type: ignore[no-untyped-def]
        seen.update(mode=mode, upstream=upstream)
        log = cache_dir / "apt-cacher.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("1|O|10|127.0.0.1|deb.debian.org/debian/pool/main/j/jq/jq.deb\n")
        cached = cache.CacheRun("http://127.0.0.1:3199", log, mode)
        yield cached
        cached.use = cache.usage(log.read_text(), mode)

    def fai(argv: list[str]) -> object:
        seen["apt.conf"] = (build.plan.apt_dir / "apt.conf").read_text()
        seen["env"] = build.runner.options[-1]["env"]
        return simulation(argv)

    monkeypatch.setattr(cache, "running", fake_running)
    build.runner.tools["fai-diskimage"] = fai
    manifest = model.load(run.execute(build).manifest)
    assert seen["mode"] is Cache.offline and seen["upstream"] == "http://u:secret@corp:3128"
    assert 'Acquire::http::Proxy "http://127.0.0.1:3199";' in str(seen["apt.conf"])
    assert seen["env"]["http_proxy"] == "http://127.0.0.1:3199"  # type: ignore[index]
    assert manifest.checks.package_cache is not None and manifest.checks.package_cache.fetched_files == 0
    assert manifest.checks.package_cache.served_files == 1
    assert manifest.fai.env["http_proxy"] == "http://127.0.0.1:3199"
    assert "secret" not in json.dumps(manifest.image.to_json())
