"""The suite's build lane: table order, dependencies first, failures handed to the test that waits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.lane import BuildFailed, BuildSpec, Lane, in_build
from tests.support import Built


def lane(tmp_path: Path, fail: str = "") -> tuple[Lane, list[str]]:
    specs = {
        k: BuildSpec(Path(f"/{k}.yaml"), after=("a",) if k == "c" else ()) for k in ("a", "b", "c", "d")
    }
    built: list[str] = []
    started = threading.Event()

    class Fake(Lane):
        def _build(self, key: str) -> Built:
            started.set()
            built.append(key)
            if key == fail:
                raise BuildFailed(f"build of {key} failed")
            return Built(tmp_path / key, key)

    return Fake(tmp_path, tmp_path, specs), built


def test_builds_follow_the_table_and_dependencies_come_first(tmp_path: Path) -> None:
    the_lane, built = lane(tmp_path)
    the_lane.start(["c", "b", "c"])
    assert the_lane.get("c", lambda: pytest.fail("c was declared")).name == "c"
    assert the_lane.get("b", lambda: pytest.fail("b was declared")).name == "b"
    the_lane.stop()
    assert built == ["a", "b", "c"]  # a: c builds after it; d: nobody asked


def test_an_undeclared_image_is_built_on_demand_once(tmp_path: Path) -> None:
    the_lane, built = lane(tmp_path)
    the_lane.start([])
    calls: list[int] = []
    for _ in range(2):
        assert the_lane.get("d", lambda: calls.append(1) or Built(tmp_path / "d", "d")).name == "d"
    assert calls == [1] and built == []


def test_a_failed_build_fails_the_test_that_waits(tmp_path: Path) -> None:
    the_lane, _ = lane(tmp_path, fail="b")
    the_lane.start(["a", "b"])
    with pytest.raises(BuildFailed, match="build of b failed"):
        the_lane.get("b", lambda: pytest.fail("declared"))
    assert the_lane.get("a", lambda: pytest.fail("declared")).name == "a"
    the_lane.stop()


def test_what_a_build_under_way_owns() -> None:
    assert in_build("/var/tmp/t/default/.x.partial/x.raw", ["/var/tmp/t/default"])
    assert in_build("/tmp/fai-diskimage.Ab12/proc", [])
    assert not in_build("/var/tmp/t/defaults/x.raw", ["/var/tmp/t/default"])
