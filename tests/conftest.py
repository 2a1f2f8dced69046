"""Fixtures for all tiers.

Plain `pytest` runs the unit tests (no root, seconds). The README's test
command (`pytest -m "not matrix"`) adds the integration tests: real builds
from the Debian mirror and real boots in QEMU. `pytest -m matrix` runs every
blend x architecture x base (see docs/testing.md).

The suite's images are declared once (tests/lane.py) and built ahead in a
background lane while the tests run; integration tests run in an order that
keeps both busy (ORDER below).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lane import Lane, in_build, table
from tests.proxy import Seen, forward_proxy
from tests.support import (
    BUILD_ARGS,
    CANARY,
    CANARY_VARIABLE,
    PROXY_PASSWORD,
    REPO,
    Built,
    HostState,
    cli,
)

ARTIFACTS = Path(os.environ.get("FAI_OVERLAY_ARTIFACTS", REPO / "test-artifacts"))
# Integration modules in the order they run: those that build in the foreground first (the lane is
# building small images then), the cross-architecture boots last (the lane builds them last), then
# the interrupt test, which needs the host's build lock to itself.
ORDER = [
    "test_foundation", "test_gitlab_ci", "test_nocloud", "test_blends", "test_cache",
    "test_diff_builds", "test_planted_faults", "test_negative", "test_secrets", "test_publish_builds",
    "test_sources_slim", "test_updates_live", "test_second_opinion", "test_dci", "test_publish_page",
    "test_doc_commands", "test_wheel", "test_verification", "test_interrupt",
]  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, int]:
        if item.get_closest_marker("integration") is None:
            return (0, 0)
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        return (1, ORDER.index(module) if module in ORDER else len(ORDER))

    items.sort(key=rank)  # stable: the order inside a module stays


def pytest_collection_finish(session: pytest.Session) -> None:
    """The images the selected tests use (deselected ones aside): the lane builds them."""
    items = session.items
    session.config.stash[USED] = [k for item in items for m in item.iter_markers("builds") for k in m.args]


USED = pytest.StashKey[list[str]]()
LANE = pytest.StashKey[Lane]()


@pytest.fixture(scope="session", autouse=True)
def lane_starts_with_the_session(request: pytest.FixtureRequest) -> None:
    """When the selected tests use images, the lane starts building them with the first test,
    while the unit tests run, instead of with the first integration test."""
    if request.config.stash.get(USED, []) and os.geteuid() == 0:
        request.getfixturevalue("builder")


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
    """The suite's images (by key, from the lane) and ad-hoc builds (by definition and flags)."""

    def __init__(self, root: Path, artifacts: Path, lane: Lane) -> None:
        self.root = root
        self.artifacts = artifacts
        self.lane = lane
        self.cache: dict[tuple[str, ...], Built] = {}

    def lane_owns(self, path: str) -> bool:
        """A loop's back-file or a mount belongs to a build the lane has under way."""
        return in_build(path, self.lane.build_paths())

    def image(self, key: str) -> Built:
        """An image of the suite's table, waiting for the lane if it is still being built."""
        return self.lane.get(key, lambda: self.lane._build(key))

    def build(
        self, image: Path, *args: str, key: str | None = None, env: dict[str, str] | None = None
    ) -> Built:
        """An ad-hoc build (the matrix), once per session per key."""
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
def canary_proxy() -> Iterator[tuple[str, Seen]]:
    """An apt proxy for the canary build: its URL carries the password the outputs must never show."""
    with forward_proxy() as (port, seen):
        yield f"http://builder:{PROXY_PASSWORD}@127.0.0.1:{port}", seen


@pytest.fixture(scope="session")
def builder(
    request: pytest.FixtureRequest, artifacts: Path, canary_proxy: tuple[str, Seen]
) -> Iterator[ImageBuilder]:
    _need_root_and_tools()
    root = Path(os.environ.get("FAI_OVERLAY_TEST_OUT", "/var/tmp/fai-overlay-tests"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    lane = Lane(root, artifacts, table(root, canary_proxy[0], (CANARY_VARIABLE, CANARY)))
    request.config.stash[LANE] = lane
    used = request.config.stash.get(USED, [])
    if os.environ.get("FAI_OVERLAY_DCI") is None:
        used = [k for k in used if k != "dci"]
    lane.start(used)
    yield ImageBuilder(root, artifacts, lane)
    lane.stop()
    if os.environ.get("FAI_OVERLAY_KEEP") != "1":
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every integration test: no loop device, mount or QEMU process left behind.

    Loops and mounts of a build the lane has under way belong to that build,
    not to the test, and are not counted.
    """
    heavy = request.node.get_closest_marker("integration") or request.node.get_closest_marker("matrix")
    if not heavy:
        yield
        return
    if "builder" in request.fixturenames or request.node.get_closest_marker("builds"):
        request.getfixturevalue("builder")
    # the lane builds beside every test once the session has started it, not only beside those that
    # use its images: its loops and mounts are never the test's
    lane = request.config.stash.get(LANE, None)
    before = HostState()
    yield
    # a build that ends while the host is looked at detaches its loop just before it leaves
    # `building`: its paths are asked before and after, so its loop is not blamed on the test
    busy = lane.build_paths() if lane else []
    after = HostState()
    busy += lane.build_paths() if lane else []
    leaks = after.leaks_since(before, lambda path: in_build(path, busy))
    assert not leaks, "; ".join(leaks)


@pytest.fixture
def default_again(builder: ImageBuilder) -> Built:
    """The default image a second time, built through a proxy with a password and with a canary in
    the environment (tests/integration/test_secrets.py checks that neither reaches an output)."""
    return builder.image("default-again")


@pytest.fixture
def genericcloud(builder: ImageBuilder) -> Built:
    """genericcloud from the embedded base, built through a package cache in a fresh directory
    (cache: auto); tests/integration/test_cache.py rebuilds it offline from that cache."""
    return builder.image("genericcloud")


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
