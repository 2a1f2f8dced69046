"""publish: layout, checksums, read-only files, "publish only on change", retention, interruption."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from overlay.core.errors import ExitCode, OverlayError
from overlay.publish import publisher, retention, tree
from overlay.publish.tree import Kind
from tests.fixtures import publishkit as kit
from tests.support import cli

TODAY = dt.date(2026, 11, 26)
DAILY = "debian-trixie-genericcloud-amd64-daily"


def publish(out: Path | None, root: Path, kind: Kind = Kind.daily, **kw: object) -> publisher.Outcome:
    runner = kw.pop("runner", None) or kit.ConvertingRunner()
    return publisher.publish(out, root, kind, runner=runner, today=kw.pop("today", TODAY), **kw)  # type: ignore[arg-type]


def ago(days: int) -> str:
    """The first version directory published `days` before TODAY."""
    return (TODAY - dt.timedelta(days=days)).strftime("%Y%m%d") + "-1"


def bumped(version: str) -> dict[str, object]:
    """A manifest that differs from the default one in one package version."""
    pkgs = [kit.package(n, v, a, s) for n, v, a, s in kit.PACKAGES]
    pkgs[-1]["version"] = version
    return kit.manifest_doc(packages=pkgs)


def test_layout_checksums_modes_and_latest(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc())
    outcome = publish(out, root)
    assert [d.publish for d in outcome.decisions] == [True]
    vdir = root / "trixie/daily/20261126-1"
    stem = f"{DAILY}-20261126-1"
    for ext in ("raw", "qcow2", "tar.xz", "json", "build.log", "console.log"):
        path = vdir / f"{stem}.{ext}"
        assert path.is_file(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert (vdir / f"{stem}.fai-logs/status.log").is_file()
    # the raw image keeps its hole: 4 MiB long, a few KiB on disk
    raw = vdir / f"{stem}.raw"
    assert raw.stat().st_size > 4 << 20 and raw.stat().st_blocks * 512 < 1 << 20
    check = subprocess.run(["sha512sum", "-c", "SHA512SUMS"], cwd=vdir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{stem}.raw: OK" in check.stdout and f"{stem}.tar.xz: OK" in check.stdout
    assert os.readlink(root / "trixie/daily/latest") == "20261126-1/.latest"
    latest = subprocess.run(
        ["sha512sum", "-c", "SHA512SUMS"], cwd=root / "trixie/daily/latest", capture_output=True, text=True
    )
    assert latest.returncode == 0 and f"{DAILY}.qcow2: OK" in latest.stdout
    assert json.loads((vdir / f"{stem}.json").read_text())["name"] == kit.NAME
    # what the CI pipeline's scheduled check-updates reads (overlay/ci)
    manifest = tree.latest_manifest(root, "trixie", Kind.daily, kit.NAME)
    assert json.loads(manifest.read_text())["name"] == kit.NAME
    assert not [p for p in (root / "trixie/daily").iterdir() if p.name.endswith(".partial")]


def test_missing_formats_are_made_with_the_command_builders(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc(), formats=("qcow2",))
    runner = kit.ConvertingRunner()
    publish(out, root, runner=runner)
    tools = [c[:2] for c in runner.calls]
    assert tools == [("qemu-img", "convert"), ("tar", "--create"), ("xz", "-5")]
    assert runner.calls[0][-1].endswith(f"{DAILY}-20261126-1.raw")
    assert "s/.*/disk.raw/" in runner.calls[1]


def test_twice_without_change_publishes_once(tmp_path: Path) -> None:
    out, again, root = tmp_path / "out", tmp_path / "again", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc())
    # same inputs built again later on another host: other timestamps, same content
    kit.write_build(again, kit.manifest_doc(started="2026-11-26T18:00:00+00:00", host="builder-2"), seed="2")
    publish(out, root)
    second = publish(again, root)
    assert [d.publish for d in second.decisions] == [False]
    assert "content is the same as trixie/daily/20261126-1" in second.decisions[0].reason
    assert tree.versions(root / "trixie/daily") == [tree.VersionId("20261126", 1)]
    forced = publish(again, root, force=True)
    assert forced.decisions[0].publish and "--force" in forced.decisions[0].reason
    assert [str(v) for v in tree.versions(root / "trixie/daily")] == ["20261126-1", "20261126-2"]


def test_changed_content_publishes_the_next_serial_and_says_why(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    kit.write_build(tmp_path / "a", kit.manifest_doc())
    kit.write_build(tmp_path / "b", bumped("1.8.0-1"))
    publish(tmp_path / "a", root)
    outcome = publish(tmp_path / "b", root)
    decision = outcome.decisions[0]
    assert decision.publish and str(decision.version) == "20261126-2"
    assert decision.changes == {kit.NAME: ["packages: 0 added, 0 removed, 1 changed"]}
    assert os.readlink(root / "trixie/daily/latest") == "20261126-2/.latest"


def test_release_and_daily_are_separate(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    kit.write_build(tmp_path / "a", kit.manifest_doc())
    publish(tmp_path / "a", root, Kind.daily)
    outcome = publish(tmp_path / "a", root, Kind.release)
    assert outcome.decisions[0].publish  # nothing published as a release yet
    stem = "debian-trixie-genericcloud-amd64-20261126-1"
    assert (root / f"trixie/20261126-1/{stem}.qcow2").is_file()
    assert os.readlink(root / "trixie/latest") == "20261126-1/.latest"
    assert (root / "trixie/latest/debian-trixie-genericcloud-amd64.qcow2").is_file()


def test_retention_hides_at_20_days_deletes_at_60_keeps_releases(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    days = {"old": 60, "hidden": 20, "release": 90, "today": 0}
    for i, (key, age) in enumerate(days.items()):
        kit.write_build(tmp_path / key, bumped(f"1.{i}-1"))
        kind = Kind.release if key == "release" else Kind.daily
        publish(tmp_path / key, root, kind, today=TODAY - dt.timedelta(days=age))
    daily = root / "trixie/daily"
    assert not (daily / ago(60)).exists()  # 60 days: removed
    assert [str(v) for v in tree.versions(daily)] == [ago(20), ago(0)]
    release = ago(90)
    assert (root / "trixie" / release).is_dir()  # the 90-day-old release is kept
    page = (root / "index.html").read_text()
    assert 'data-version="20261126-1"' in page and f'data-version="{release}"' in page
    assert f'data-version="{ago(20)}"' not in page  # 20 days: hidden from the index
    assert "1 older daily is not listed" in page
    assert (daily / ago(20)).is_dir()  # but still downloadable
    assert not [p for p in daily.iterdir() if p.name.startswith(".")]


def test_retention_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    kit.write_build(tmp_path / "old", bumped("1.0-1"))
    kit.write_build(tmp_path / "new", bumped("2.0-1"))
    publish(tmp_path / "old", root, today=TODAY - dt.timedelta(days=61))
    alone = publish(None, root)
    # the newest daily is never deleted: `latest` and the change check need it
    assert [(a.action, a.age_days) for a in alone.retention] == [("hide", 61)]
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    outcome = publish(tmp_path / "new", root, dry_run=True)
    assert outcome.decisions[0].publish and outcome.decisions[0].version is None
    # once the new daily is published, the old one goes: the dry run says so
    assert [(str(a.version), a.action) for a in outcome.retention] == [(ago(61), "delete")]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before
    publish(tmp_path / "new", root)
    assert [str(v) for v in tree.versions(root / "trixie/daily")] == ["20261126-1"]


def test_configurable_retention(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    kit.write_build(tmp_path / "old", bumped("1.0-1"))
    kit.write_build(tmp_path / "new", bumped("2.0-1"))
    publish(tmp_path / "old", root, today=TODAY - dt.timedelta(days=10))
    publish(tmp_path / "new", root, policy=retention.Policy(hide_after=3, delete_after=10))
    assert [str(v) for v in tree.versions(root / "trixie/daily")] == ["20261126-1"]
    with pytest.raises(OverlayError, match="less than --hide-after"):
        retention.Policy(hide_after=20, delete_after=10)


def test_interrupted_publish_leaves_no_visible_directory_and_rerun_completes(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc())
    with pytest.raises(KeyboardInterrupt):
        publish(out, root, runner=kit.ConvertingRunner(fail_on="xz"))
    daily = root / "trixie/daily"
    assert tree.versions(daily) == []
    assert [p.name for p in daily.iterdir()] == [".20261126-1.partial"]
    outcome = publish(out, root)
    assert outcome.cleaned == ["trixie/daily/.20261126-1.partial"]
    assert [p.name for p in sorted(daily.iterdir())] == ["20261126-1", "latest"]
    check = subprocess.run(
        ["sha512sum", "-c", "--strict", "SHA512SUMS"],
        cwd=daily / "20261126-1",
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout
    listed = {line.split("  ", 1)[1] for line in (daily / "20261126-1/SHA512SUMS").read_text().splitlines()}
    assert f"{DAILY}-20261126-1.tar.xz" in listed and f"{DAILY}-20261126-1.raw" in listed


def test_an_image_that_changed_after_its_build_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    kit.write_build(out, kit.manifest_doc())
    (out / f"{kit.NAME}.qcow2").write_bytes(b"tampered")
    with pytest.raises(OverlayError, match="does not match the sha512 in its manifest") as err:
        publish(out, tmp_path / "tree")
    assert err.value.code is ExitCode.FAILED
    assert tree.versions(tmp_path / "tree/trixie/daily") == []


def test_a_development_image_is_never_published(tmp_path: Path) -> None:
    out = tmp_path / "out"
    doc = kit.manifest_doc()
    doc["image"]["type"] = "dev"
    kit.write_build(out, doc)
    with pytest.raises(OverlayError, match="is a development image") as err:
        publish(out, tmp_path / "tree")
    assert err.value.code is ExitCode.USAGE and "type: official" in (err.value.hint or "")
    assert not (tmp_path / "tree").exists()


def test_cli_json_and_errors(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc(), formats=("raw", "qcow2", "tar.xz"))
    first = cli("publish", out, "--to", root, "--release", "--date", "20261126", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["kind"] == "release" and doc["decisions"][0]["version"] == "20261126-1"
    second = cli("publish", out, "--to", root, "--release", "--date", "20261126")
    assert second.returncode == 0
    assert second.stdout.startswith("not published (trixie): content is the same as trixie/20261126-1")
    empty = cli("publish", tmp_path / "nothing-here", "--to", root)
    assert empty.returncode == 2
    assert empty.stderr.strip().startswith(f"fai-overlay: error: {tmp_path / 'nothing-here'}: ")


def test_a_second_publish_into_the_same_tree_is_refused(tmp_path: Path) -> None:
    out, root = tmp_path / "out", tmp_path / "tree"
    kit.write_build(out, kit.manifest_doc())
    with publisher.locked(root), pytest.raises(OverlayError, match="another publish is writing this tree"):
        publish(out, root)
    assert publish(out, root).decisions[0].publish  # the lock is gone with its holder
