"""`publish`: decide, stage, rename into place, apply retention, render the page.

A version directory appears in one rename, so an interrupted run leaves at
most a hidden `.<version>.partial`; the next run removes it and publishes
again. A lock file keeps two publishes from writing one tree at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import log
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.runner import Runner
from overlay.publish import diff, page, retention, stage, tree
from overlay.publish.stage import Build
from overlay.publish.tree import Kind, VersionId


@dataclass
class Decision:
    release: str
    publish: bool
    reason: str
    previous: VersionId | None = None
    version: VersionId | None = None
    changes: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "publish": self.publish,
            "reason": self.reason,
            "previous": str(self.previous) if self.previous else None,
            "version": str(self.version) if self.version else None,
            "changes": self.changes,
        }


@dataclass
class Outcome:
    kind: Kind
    decisions: list[Decision]
    retention: list[retention.Action]
    cleaned: list[str]
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "dry_run": self.dry_run,
            "decisions": [d.to_json() for d in self.decisions],
            "retention": [
                {"release": a.release, "version": str(a.version), "age_days": a.age_days, "action": a.action}
                for a in self.retention
            ],
            "cleaned": self.cleaned,
        }


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".publish.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OverlayError(
                "another publish is writing this tree",
                path=root,
                hint="wait for it to finish",
                code=ExitCode.FAILED,
            ) from None
        yield


def decide(root: Path, release: str, kind: Kind, builds: list[Build], force: bool) -> Decision:
    """Publish when any image's content differs from the last published version (or --force)."""
    directory = tree.kind_dir(root, release, kind)
    where = directory.relative_to(root).as_posix()
    found = tree.versions(directory)
    if not found:
        return Decision(release, True, f"nothing is published in {where} yet")
    previous = found[-1]
    changes: dict[str, list[str]] = {}
    for build in builds:
        old = stage.recorded_manifest(directory / str(previous), build.name)
        if old is None:
            changes[build.name] = [f"not in {where}/{previous}"]
            continue
        result = diff.compare(old, build.manifest)
        if result.differs:
            changes[build.name] = result.reasons()
    if changes:
        detail = "; ".join(f"{name}: {', '.join(r)}" for name, r in changes.items())
        return Decision(
            release, True, f"content differs from {where}/{previous}: {detail}", previous, None, changes
        )
    same = f"content is the same as {where}/{previous} (packages, classes, layers)"
    if force:
        return Decision(release, True, f"{same}; publishing anyway (--force)", previous)
    return Decision(release, False, f"{same}; nothing to publish (--force publishes anyway)", previous)


def _clean(root: Path, dry_run: bool) -> list[str]:
    cleaned = []
    for release in tree.releases(root):
        for kind in Kind:
            for path in tree.leftovers(tree.kind_dir(root, release, kind)):
                cleaned.append(path.relative_to(root).as_posix())
                if not dry_run:
                    log.info(f"removing {path.name}, left by an interrupted publish")
                    shutil.rmtree(path)
    return cleaned


def _publish_release(
    root: Path, kind: Kind, builds: list[Build], decision: Decision, today: dt.date, runner: Runner
) -> None:
    directory = tree.kind_dir(root, decision.release, kind)
    version = tree.next_version(directory, today)
    decision.version = version
    partial = directory / f".{version}.partial"
    published = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with log.step(f"Publishing {directory.relative_to(root)}/{version}"):
        stage.stage_version(builds, partial, kind, version, runner, published)
        os.rename(partial, directory / str(version))
    tree.point_latest(directory)


def _by_release(builds: list[Build]) -> dict[str, list[Build]]:
    groups: dict[str, list[Build]] = {}
    for build in builds:
        groups.setdefault(build.release, []).append(build)
    return groups


def publish(
    out_dir: Path | None,
    root: Path,
    kind: Kind,
    *,
    runner: Runner,
    force: bool = False,
    dry_run: bool = False,
    today: dt.date | None = None,
    policy: retention.Policy | None = None,
) -> Outcome:
    today = today or dt.datetime.now(dt.UTC).date()
    policy = policy or retention.Policy()
    builds = stage.find_builds(out_dir) if out_dir is not None else []
    with locked(root) if not dry_run else contextlib.nullcontext():
        cleaned = _clean(root, dry_run)
        decisions = []
        for release, group in _by_release(builds).items():
            decision = decide(root, release, kind, group, force)
            decisions.append(decision)
            if decision.publish and not dry_run:
                _publish_release(root, kind, group, decision, today, runner)
        pending = {d.release for d in decisions if d.publish and dry_run and kind is Kind.daily}
        actions = retention.plan(root, today, policy, pending)
        if not dry_run:  # the command line reports the actions (a dry run's only on stdout)
            for action in actions:
                if action.action == "delete":
                    log.info(action.describe())
            retention.apply(actions)
            for release in tree.releases(root):
                for k in Kind:
                    tree.point_latest(tree.kind_dir(root, release, k))
            page.write(root, today, policy)
    return Outcome(kind, decisions, actions, cleaned, dry_run)
