"""Name → FAI class mapping, read from an image.yaml in debian-cloud-images' schema.

The embedded base ships base_classes/image.yaml in the same schema, so one
reader serves both, and a checkout's own file keeps us in sync with upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.core import yamlsrc
from overlay.core.errors import OverlayError


@dataclass(frozen=True)
class Release:
    name: str
    id: str
    baseid: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Vendor:
    name: str
    classes: tuple[str, ...]
    size_gb: int


@dataclass(frozen=True)
class ClassMap:
    path: Path
    archs: dict[str, tuple[str, ...]]
    releases: dict[str, Release]
    vendors: dict[str, Vendor]
    types: dict[str, tuple[str, ...]]

    def release(self, name: str) -> Release:
        return self._get(self.releases, "release", name)

    def vendor(self, name: str) -> Vendor:
        return self._get(self.vendors, "vendor", name)

    def arch(self, name: str) -> tuple[str, ...]:
        return self._get(self.archs, "arch", name)

    def type(self, name: str) -> tuple[str, ...]:
        return self._get(self.types, "type", name)

    def _get(self, table: dict[str, Any], what: str, name: str) -> Any:
        if name not in table:
            raise OverlayError(
                f"{what} '{name}' is not defined by this base",
                path=self.path,
                hint=f"this base knows: {', '.join(table)}",
            )
        return table[name]


def _entries(doc: yamlsrc.Doc, group: str) -> list[tuple[int, dict[str, Any]]]:
    items = doc.data.get(group)
    if not isinstance(items, list):
        raise doc.error((group,), f"'{group}' must be a list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "name" not in item:
            raise doc.error((group, i), f"each entry of '{group}' needs a name")
        out.append((i, item))
    return out


def _classes(doc: yamlsrc.Doc, key: yamlsrc.Key, item: dict[str, Any]) -> tuple[str, ...]:
    value = item.get("faiClasses", [])
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise doc.error((*key, "faiClasses"), "faiClasses must be a list of class names")
    return tuple(value)


def load(path: Path) -> ClassMap:
    doc = yamlsrc.load(path)
    if not isinstance(doc.data, dict) or doc.data.get("kind") != "ImageConfig":
        raise doc.error((), "not an image class map (expected 'kind: ImageConfig')")
    archs = {str(e["name"]): _classes(doc, ("archs", i), e) for i, e in _entries(doc, "archs")}
    releases = {}
    for i, e in _entries(doc, "releases"):
        releases[str(e["name"])] = Release(
            str(e["name"]),
            str(e.get("id", "")),
            str(e.get("baseid", e.get("id", ""))),
            _classes(doc, ("releases", i), e),
        )
    vendors = {}
    for i, e in _entries(doc, "vendors"):
        size = e.get("size", 3)
        if not isinstance(size, int):
            raise doc.error(("vendors", i, "size"), "size must be a number of GiB")
        vendors[str(e["name"])] = Vendor(str(e["name"]), _classes(doc, ("vendors", i), e), size)
    types = {str(e["name"]): _classes(doc, ("types", i), e) for i, e in _entries(doc, "types")}
    return ClassMap(path, archs, releases, vendors, types)
