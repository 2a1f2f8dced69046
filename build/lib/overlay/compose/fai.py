"""FAI facts as data (data/fai.yaml): package commands, tasks, fcopy's reserved names."""

from __future__ import annotations

import functools
from typing import Any

from overlay.core import resources


@functools.cache
def facts() -> dict[str, Any]:
    data: dict[str, Any] = resources.data_yaml("fai.yaml").data
    return data


def package_commands() -> frozenset[str]:
    return frozenset(facts()["package_commands"])


def tasks() -> frozenset[str]:
    return frozenset(facts()["tasks"])


def fcopy_reserved() -> frozenset[str]:
    return frozenset(facts()["fcopy_reserved"])
