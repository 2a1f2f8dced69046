"""What differs between two build manifests, and whether the images differ in content.

Content is what ends up in the image: the packages (name, architecture,
version), the FAI classes, the layers' content digests and the image settings
that change the disk (the fields the field table marks as content). Timestamps,
build host, paths, layer commits and CI data are reported where useful but
never make two images "different".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from overlay.manifest.model import BuildManifest

PackageKey = tuple[str, str]


@dataclass(frozen=True)
class PackageChange:
    name: str
    architecture: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class LayerChange:
    name: str
    old_digest: str | None
    new_digest: str | None
    old_commit: str | None
    new_commit: str | None

    @property
    def content_changed(self) -> bool:
        return self.old_digest != self.new_digest


@dataclass(frozen=True)
class SettingChange:
    key: str
    old: Any
    new: Any


@dataclass
class ManifestDiff:
    old_name: str
    new_name: str
    added: list[PackageChange] = field(default_factory=list)
    removed: list[PackageChange] = field(default_factory=list)
    changed: list[PackageChange] = field(default_factory=list)
    classes_added: list[str] = field(default_factory=list)
    classes_removed: list[str] = field(default_factory=list)
    classes_reordered: bool = False
    layers: list[LayerChange] = field(default_factory=list)
    settings: list[SettingChange] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """True when the two images differ in content (decides "publish or not")."""
        return bool(
            self.added
            or self.removed
            or self.changed
            or self.classes_added
            or self.classes_removed
            or self.classes_reordered
            or self.settings
            or any(c.content_changed for c in self.layers)
        )

    def reasons(self) -> list[str]:
        """Short phrases saying why the content differs; empty when it does not."""
        out = []
        if self.added or self.removed or self.changed:
            out.append(
                f"packages: {len(self.added)} added, {len(self.removed)} removed, "
                f"{len(self.changed)} changed"
            )
        if self.classes_added or self.classes_removed or self.classes_reordered:
            out.append(
                f"classes: {len(self.classes_added)} added, {len(self.classes_removed)} removed"
                + (", order changed" if self.classes_reordered else "")
            )
        layers = [c.name for c in self.layers if c.content_changed]
        if layers:
            out.append(f"layers changed: {', '.join(layers)}")
        if self.settings:
            out.append(f"settings changed: {', '.join(s.key for s in self.settings)}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old_name,
            "new": self.new_name,
            "differs": self.differs,
            "reasons": self.reasons(),
            "packages": {
                "added": [asdict(c) for c in self.added],
                "removed": [asdict(c) for c in self.removed],
                "changed": [asdict(c) for c in self.changed],
            },
            "classes": {
                "added": self.classes_added,
                "removed": self.classes_removed,
                "reordered": self.classes_reordered,
            },
            "layers": [asdict(c) | {"content_changed": c.content_changed} for c in self.layers],
            "settings": [asdict(s) for s in self.settings],
        }


def _packages(manifest: BuildManifest) -> dict[PackageKey, str]:
    return {p.key: p.version for p in manifest.packages}


def _layers(manifest: BuildManifest) -> dict[str, tuple[str | None, str | None]]:
    return {la.name: (la.digest, la.git.commit if la.git else None) for la in manifest.layers}


def _package_changes(diff: ManifestDiff, old: BuildManifest, new: BuildManifest) -> None:
    a, b = _packages(old), _packages(new)
    for key in sorted(a.keys() | b.keys()):
        change = PackageChange(key[0], key[1], a.get(key), b.get(key))
        if key not in a:
            diff.added.append(change)
        elif key not in b:
            diff.removed.append(change)
        elif a[key] != b[key]:
            diff.changed.append(change)


def _class_changes(diff: ManifestDiff, old: BuildManifest, new: BuildManifest) -> None:
    a, b = old.classes, new.classes
    diff.classes_added = [c for c in b if c not in a]
    diff.classes_removed = [c for c in a if c not in b]
    common = set(a) & set(b)
    diff.classes_reordered = [c for c in a if c in common] != [c for c in b if c in common]


def _layer_changes(diff: ManifestDiff, old: BuildManifest, new: BuildManifest) -> None:
    a, b = _layers(old), _layers(new)
    for name in [*a, *(n for n in b if n not in a)]:
        (od, oc), (nd, nc) = a.get(name, (None, None)), b.get(name, (None, None))
        if od != nd or oc != nc:
            diff.layers.append(LayerChange(name, od, nd, oc, nc))


def compare(old: BuildManifest, new: BuildManifest) -> ManifestDiff:
    diff = ManifestDiff(old.name, new.name)
    _package_changes(diff, old, new)
    _class_changes(diff, old, new)
    _layer_changes(diff, old, new)
    a, b = old.image.content(), new.image.content()
    diff.settings = [SettingChange(k, a.get(k), b.get(k)) for k in a if a.get(k) != b.get(k)]
    return diff


def _fmt_pkg(c: PackageChange) -> str:
    if c.old is None:
        return f"  + {c.name}:{c.architecture} {c.new}"
    if c.new is None:
        return f"  - {c.name}:{c.architecture} {c.old}"
    return f"  ~ {c.name}:{c.architecture} {c.old} -> {c.new}"


def _fmt_layer(c: LayerChange) -> str:
    if c.old_digest is None:
        return f"  + {c.name} {c.new_digest}"
    if c.new_digest is None:
        return f"  - {c.name} {c.old_digest}"
    what = "content" if c.content_changed else "commit only"
    detail = (
        f"{c.old_digest} -> {c.new_digest}" if c.content_changed else f"{c.old_commit} -> {c.new_commit}"
    )
    return f"  ~ {c.name} ({what}): {detail}"


def render(diff: ManifestDiff) -> str:
    """Human-readable report, one section per kind of change."""
    lines = [f"--- {diff.old_name}", f"+++ {diff.new_name}"]
    pkgs = [*diff.added, *diff.removed, *diff.changed]
    lines.append(
        f"packages: {len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed"
    )
    lines += [_fmt_pkg(c) for c in sorted(pkgs, key=lambda c: (c.name, c.architecture))]
    lines.append(f"classes: {len(diff.classes_added)} added, {len(diff.classes_removed)} removed")
    lines += [f"  + {c}" for c in diff.classes_added] + [f"  - {c}" for c in diff.classes_removed]
    if diff.classes_reordered:
        lines.append("  the order of the common classes changed")
    lines.append(f"layers: {len(diff.layers)} changed")
    lines += [_fmt_layer(c) for c in diff.layers]
    lines += [f"setting {s.key}: {s.old!r} -> {s.new!r}" for s in diff.settings]
    verdict = "DIFFERS (" + "; ".join(diff.reasons()) + ")" if diff.differs else "same"
    lines.append(f"content: {verdict}")
    return "\n".join(lines)
