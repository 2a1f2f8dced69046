"""FAI facts as data (data/fai.yaml), and checks of FAI names."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from overlay.config import CLASS_RE


@functools.cache
def facts() -> dict[str, Any]:
    text = resources.files("overlay").joinpath("data/fai.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def package_commands() -> frozenset[str]:
    return frozenset(facts()["package_commands"])


def tasks() -> frozenset[str]:
    return frozenset(facts()["tasks"])


def fcopy_reserved() -> frozenset[str]:
    return frozenset(facts()["fcopy_reserved"])


def valid_class(name: str) -> bool:
    return bool(CLASS_RE.match(name))


CLASS_HINT = "FAI class names use A-Z, 0-9 and _ (no '-', '.', '#', ';'); combinations join classes with '+'"
