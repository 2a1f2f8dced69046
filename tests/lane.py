"""The suite's image builds, declared in one table and built ahead in a background lane.

Builds are serialized by FAI's host lock anyway, while boots and offline
checks need a core each: so the images the selected tests will use are built
one after the other in a background thread, in the order of the table, while
the tests run in the foreground on the images already built. A test asks for
an image by key and waits only if it is not built yet. A key no test declares
is built on demand, in the foreground.

Tests declare what they use with `@pytest.mark.builds("default", ...)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import BUILD_ARGS, EXAMPLES, FIXTURES, Built, cli


@dataclass(frozen=True)
class BuildSpec:
    definition: Path
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    after: tuple[str, ...] = ()  # keys that must be built first (a warm rebuild after the cold one)


def table(root: Path, proxy_url: str, canary: tuple[str, str]) -> dict[str, BuildSpec]:
    """Every image the README suite builds, in the order the lane builds them."""
    cache = ("--cache-dir", str(root / "apt-cache"))
    cross = {
        "arm64": ("--release", "trixie", "--vendor", "generic", "--arch", "arm64"),
        "ppc64el": ("--release", "forky", "--vendor", "generic", "--arch", "ppc64el"),
    }
    return {
        "genericcloud": BuildSpec(EXAMPLES / "genericcloud.yaml", ("--cache", "auto", *cache)),
        "default": BuildSpec(EXAMPLES / "default.yaml"),
        "slim": BuildSpec(EXAMPLES / "slim.yaml"),
        "amphora": BuildSpec(EXAMPLES / "octavia-amphora.yaml"),
        "secure-boot": BuildSpec(EXAMPLES / "secure-boot.yaml"),
        "genericcloud-warm": BuildSpec(
            EXAMPLES / "genericcloud.yaml", ("--cache", "offline", *cache), after=("genericcloud",)
        ),
        "default-again": BuildSpec(EXAMPLES / "default.yaml", ("--apt-proxy", proxy_url), (canary,)),
        "default-extra": BuildSpec(
            EXAMPLES / "default.yaml", ("--overlay", str(FIXTURES / "overlays/extra-package"))
        ),
        "broken-fstab": BuildSpec(
            EXAMPLES / "default.yaml",
            ("--overlay", str(FIXTURES / "overlays/broken-fstab"), "--format", "raw"),
        ),
        **{arch: BuildSpec(EXAMPLES / "default.yaml", args) for arch, args in cross.items()},
        "dci": BuildSpec(EXAMPLES / "official.yaml"),
    }


class BuildFailed(AssertionError):
    """A build of the suite failed: the test that needs the image fails with its output."""


@dataclass
class Lane:
    root: Path
    artifacts: Path
    specs: dict[str, BuildSpec]
    futures: dict[str, Future[Built]] = field(default_factory=dict)
    building: set[str] = field(default_factory=set)  # keys being built right now (for the leak checks)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gate: threading.Lock = field(default_factory=threading.Lock)  # held by each lane build, and by quiet()
    _thread: threading.Thread | None = None

    def _build(self, key: str) -> Built:
        spec = self.specs[key]
        out = self.root / key
        with self._lock:
            self.building.add(key)
        t0 = time.monotonic()
        try:
            proc = cli(
                "build", spec.definition, "-o", out, "--json", *BUILD_ARGS, *spec.args, env=dict(spec.env)
            )
        finally:
            with self._lock:
                self.building.discard(key)
        seconds = time.monotonic() - t0
        (self.artifacts / "builds").mkdir(parents=True, exist_ok=True)
        (self.artifacts / "builds" / f"{key}.stderr.txt").write_text(proc.stderr)
        if proc.returncode != 0:
            raise BuildFailed(f"build of {key} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return Built(out, json.loads(proc.stdout)[0]["name"], seconds)

    def start(self, keys: list[str]) -> None:
        """Build `keys` ahead, in table order (dependencies first), in one background thread."""
        ordered = [k for k in self.specs if k in keys or any(k in self.specs[w].after for w in keys)]
        for key in ordered:
            self.futures.setdefault(key, Future())

        def work() -> None:
            for key in ordered:
                future = self.futures[key]
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    with self._gate:
                        future.set_result(self._build(key))
                except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for it
                    future.set_exception(exc)

        self._thread = threading.Thread(target=work, name="build-lane", daemon=True)
        self._thread.start()

    def get(self, key: str, on_demand: Callable[[], Built]) -> Built:
        future = self.futures.get(key)
        if future is None:
            future = self.futures[key] = Future()
            future.set_running_or_notify_cancel()
            try:
                future.set_result(on_demand())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """No lane build runs inside: waits for the one under way, holds the next one back."""
        with self._gate:
            yield

    def stop(self) -> None:
        """Cancel what has not started; wait for the build under way (it cleans up after itself)."""
        for future in self.futures.values():
            future.cancel()
        if self._thread is not None:
            self._thread.join(timeout=3600)

    def build_paths(self) -> list[str]:
        """Where builds under way keep their work files: their loops and mounts are theirs."""
        with self._lock:
            return [str(self.root / key) for key in self.building]


def in_build(path: str, lane_paths: list[str]) -> bool:
    return any(path.startswith(p + "/") for p in lane_paths) or path.startswith("/tmp/fai-diskimage.")
