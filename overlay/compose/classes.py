"""The FAI class list, computed the way `debian-cloud-images build` does it.

Start with BUILD_IMAGE, BASE, DEBIAN. Add the type, release, vendor and arch
groups in that order: each new class `o` is appended, followed by `i+o` for
every class `i` already in the list (classes of one group are not combined
with each other). Overlay and image classes follow; LAST ends the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from overlay.compose.classmap import ClassMap

START = ("BUILD_IMAGE", "BASE", "DEBIAN")
LAST = "LAST"


@dataclass(frozen=True)
class ClassEntry:
    name: str
    reason: str


def combine(entries: list[ClassEntry], group: Iterable[str], why: str) -> None:
    """debian-cloud-images' Classes.update_combine, with a reason for each class."""
    new: list[ClassEntry] = []
    for cls in group:
        new.append(ClassEntry(cls, why))
        for earlier in entries:
            new.append(ClassEntry(f"{earlier.name}+{cls}", f"combination of {earlier.name} and {cls}"))
    entries.extend(new)


def compute(
    cmap: ClassMap,
    *,
    release: str,
    vendor: str,
    arch: str,
    build_type: str,
    drop: Sequence[str] = (),
    extra: Sequence[tuple[str, str]] = (),
) -> list[ClassEntry]:
    """Return the ordered class list. `extra` is (class, reason), placed before LAST."""
    entries = [ClassEntry(c, "every image build starts with it") for c in START]

    def keep(group: Iterable[str]) -> list[str]:
        return [c for c in group if c not in drop]

    combine(entries, keep(cmap.type(build_type)), f"build type {build_type}")
    combine(entries, keep(cmap.release(release).classes), f"release {release}")
    combine(entries, keep(cmap.vendor(vendor).classes), f"vendor {vendor}")
    combine(entries, keep(cmap.arch(arch)), f"architecture {arch}")
    seen = {e.name for e in entries}
    for name, reason in extra:
        if name not in seen and name != LAST:
            entries.append(ClassEntry(name, reason))
            seen.add(name)
    entries.append(ClassEntry(LAST, "always last: cleanup and info scripts"))
    return entries


def names(entries: Sequence[ClassEntry]) -> list[str]:
    return [e.name for e in entries]
