"""Retention: dailies are hidden from the index after a while and deleted later; releases stay.

The newest daily of a release is never deleted, so `latest` and the
"publish only when the content changed" check always have something to use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from overlay.core.errors import OverlayError
from overlay.publish import tree
from overlay.publish.tree import Kind, VersionId

HIDE_AFTER_DAYS = 14
DELETE_AFTER_DAYS = 60


@dataclass(frozen=True)
class Policy:
    hide_after: int = HIDE_AFTER_DAYS
    delete_after: int = DELETE_AFTER_DAYS

    def __post_init__(self) -> None:
        for flag, days in (("--hide-after", self.hide_after), ("--delete-after", self.delete_after)):
            if days < 1:
                raise OverlayError(f"retention: {flag} must be a positive number of days, got {days}")
        if self.delete_after < self.hide_after:
            raise OverlayError(
                f"retention: --delete-after {self.delete_after} is less than --hide-after {self.hide_after}",
                hint="e.g. --hide-after 14 --delete-after 60",
            )


@dataclass(frozen=True)
class Action:
    release: str
    version: VersionId
    path: Path
    age_days: int
    action: str  # "hide" or "delete"

    def describe(self) -> str:
        verb = "delete" if self.action == "delete" else "hide from the index"
        return f"{verb} {self.release}/daily/{self.version} ({self.age_days} days old)"


def age(version: VersionId, today: dt.date) -> int:
    return (today - version.day).days


def plan(root: Path, today: dt.date, policy: Policy, pending: Collection[str] = ()) -> list[Action]:
    """What retention does to the dailies of every release; releases are never touched.

    `pending` names releases that get a new daily in this run (for --dry-run,
    where it is not there yet): their newest existing daily is not protected.
    """
    actions = []
    for release in tree.releases(root):
        daily = tree.kind_dir(root, release, Kind.daily)
        found = tree.versions(daily)
        for version in found:
            days = age(version, today)
            newest = version == found[-1] and release not in pending
            if days >= policy.delete_after and not newest:
                actions.append(Action(release, version, daily / str(version), days, "delete"))
            elif days >= policy.hide_after:
                actions.append(Action(release, version, daily / str(version), days, "hide"))
    return actions


def apply(actions: list[Action]) -> None:
    for action in actions:
        if action.action == "delete":
            tree.remove_tree(action.path)


def is_hidden(kind: Kind, version: VersionId, today: dt.date, policy: Policy) -> bool:
    return kind is Kind.daily and age(version, today) >= policy.hide_after
