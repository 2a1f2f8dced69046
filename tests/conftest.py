"""Fixtures for all tiers.

Plain `pytest` runs the unit tests (no root, seconds). The README's test
command (`pytest -m "not matrix"`) adds the integration tests: real builds
from the Debian mirror and real boots in QEMU. `pytest -m matrix` runs every
blend x architecture x base (see docs/testing.md).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxy import Seen, forward_proxy
from tests.support import (
    BUILD_ARGS,
    CANARY,
    CANARY_VARIABLE,
    EXAMPLES,
    PROXY_PASSWORD,
    REPO,
    Built,
    HostState,
    cli,
)

ARTIFACTS = Path(os.environ.get("FAI_OVERLAY_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave things worth keeping: logs, junit, screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _need_root_and_tools() -> None:
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (they build and boot images)", pytrace=False)
    for tool in ("fai-diskimage", "qemu-img", "qemu-system-x86_64"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            pytest.fail(f"integration tests need {tool}: run ./setup.sh first", pytrace=False)


class ImageBuilder:
    """Builds an image definition once per session and hands out the result."""

    def __init__(self, root: Path, artifacts: Path) -> None:
        self.root = root
        self.artifacts = artifacts
        self.cache: dict[tuple[str, ...], Built] = {}

    def build(
        self, image: Path, *args: str, key: str | None = None, env: dict[str, str] | None = None
    ) -> Built:
        cache_key = (str(image), *args) if key is None else (key,)
        if cache_key in self.cache:
            return self.cache[cache_key]
        out = self.root / (key or f"build{len(self.cache)}")
        t0 = time.monotonic()
        proc = cli("build", image, "-o", out, "--json", *BUILD_ARGS, *args, env=env)
        seconds = time.monotonic() - t0
        (self.artifacts / "builds").mkdir(exist_ok=True)
        (self.artifacts / "builds" / f"{out.name}.stderr.txt").write_text(proc.stderr)
        if proc.returncode != 0:
            pytest.fail(
                f"build of {image} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}",
                pytrace=False,
            )
        import json

        name = json.loads(proc.stdout)[0]["name"]
        built = Built(out, name, seconds)
        self.cache[cache_key] = built
        return built


@pytest.fixture(scope="session")
def builder(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[ImageBuilder]:
    _need_root_and_tools()
    root = Path(os.environ.get("FAI_OVERLAY_TEST_OUT", "/var/tmp/fai-overlay-tests"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    yield ImageBuilder(root, artifacts)
    if os.environ.get("FAI_OVERLAY_KEEP") != "1":
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every integration test: no loop device, mount or QEMU process left behind."""
    heavy = request.node.get_closest_marker("integration") or request.node.get_closest_marker("matrix")
    if not heavy:
        yield
        return
    before = HostState()
    yield
    leaks = HostState().leaks_since(before)
    assert not leaks, "; ".join(leaks)


@pytest.fixture(scope="session")
def canary_proxy() -> Iterator[tuple[str, Seen]]:
    """An apt proxy for the canary build: its URL carries the password the outputs must never show."""
    with forward_proxy() as (port, seen):
        yield f"http://builder:{PROXY_PASSWORD}@127.0.0.1:{port}", seen


@pytest.fixture
def default_again(builder: ImageBuilder, canary_proxy: tuple[str, Seen]) -> Built:
    """The default image a second time, built through a proxy with a password and a canary in the
    environment (tests/integration/test_secrets.py checks that neither reaches an output)."""
    url, _ = canary_proxy
    return builder.build(
        EXAMPLES / "default.yaml", "--apt-proxy", url, key="default-again", env={CANARY_VARIABLE: CANARY}
    )


@pytest.fixture
def genericcloud(builder: ImageBuilder) -> Built:
    """genericcloud from the embedded base, built through a package cache in a fresh directory
    (cache: auto); tests/integration/test_cache.py rebuilds it offline from that cache."""
    return builder.build(EXAMPLES / "genericcloud.yaml", *cache_args(builder, "auto"), key="genericcloud")


def cache_args(builder: ImageBuilder, mode: str) -> list[str]:
    return ["--cache", mode, "--cache-dir", str(builder.root / "apt-cache")]


def dci_checkout() -> Path | None:
    value = os.environ.get("FAI_OVERLAY_DCI")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def dci() -> Path:
    """The debian-cloud-images checkout named by FAI_OVERLAY_DCI (skips visibly without it)."""
    path = dci_checkout()
    if path is None:
        pytest.skip(
            "FAI_OVERLAY_DCI is not set: no debian-cloud-images checkout to test against "
            "(see docs/testing.md)"
        )
    if not (path / "config_space").is_dir():
        pytest.fail(f"FAI_OVERLAY_DCI={path} is not a debian-cloud-images checkout", pytrace=False)
    return path
