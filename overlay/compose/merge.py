"""Merging layers: walk each layer, check what FAI would do with every file, detect conflicts.

Pure: reads the layers, writes nothing (compose/write.py writes). `prepare`
is everything composition checks, so `plan` runs it too: names FAI
understands, executable bits, package lists, symlinks at every level,
conflicts and `replaces`, unmet `requires`, and the templates rendered in
memory.
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from overlay.compose import fai, pkgconfig, render
from overlay.compose.overlaydef import FAI_DIRS, NON_SPACE, OverlayDef
from overlay.core.errors import OverlayError
from overlay.definition import names


class LayerKind(enum.StrEnum):
    base = "base"
    overlay = "overlay"
    internal = "internal"


@dataclass(frozen=True)
class Layer:
    name: str
    kind: LayerKind
    root: Path
    definition: OverlayDef | None = None

    @property
    def replaces(self) -> tuple[str, ...]:
        return self.definition.replaces if self.definition else ()

    @property
    def checked(self) -> bool:
        """Overlays and our internal layer are checked strictly; the base is trusted."""
        return self.kind is not LayerKind.base


@dataclass
class Entry:
    path: str  # relative, POSIX, after .j2 rendering
    layer: str
    source: Path
    template: bool = False
    link: str | None = None  # symlink target, kept when it stays inside the layer
    replaced: list[str] = field(default_factory=list)
    content: str | None = None  # a template's rendered text (prepare fills it)


def _walk(layer: Layer) -> Iterator[tuple[str, Path]]:
    root = layer.root
    if not root.is_dir():
        raise OverlayError("layer directory does not exist", path=root, hint="check the overlay paths")
    for top in sorted(os.listdir(root)):
        if top.startswith(".") or top in NON_SPACE:
            continue
        if top not in FAI_DIRS:
            if layer.checked:
                raise OverlayError(
                    f"'{top}' is not part of a FAI config space",
                    path=root / top,
                    hint=f"overlay directories are: {', '.join(FAI_DIRS)}",
                )
            continue
        _check_inside(layer, root / top)  # a top-level files/ or class/ may be a symlink too
        if not (root / top).is_dir():
            raise OverlayError(f"'{top}' must be a directory", path=root / top)
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for dirname in dirnames:
                _check_inside(layer, Path(dirpath) / dirname)
            for filename in sorted(filenames):
                if filename.startswith(".") or filename.endswith(("~", ".pyc", ".swp")):
                    continue
                full = Path(dirpath) / filename
                _check_regular(full)
                yield full.relative_to(root).as_posix(), full


def _check_regular(path: Path) -> None:
    """FIFOs, devices and sockets would hang or leak on copy: only files (and links to them)."""
    mode = path.stat().st_mode if path.exists() else path.lstat().st_mode
    if not stat.S_ISREG(mode) and not path.is_symlink():
        raise OverlayError("not a regular file (a FIFO, device or socket?)", path=path, hint="remove it")


def _check_inside(layer: Layer, path: Path) -> None:
    if not path.is_symlink():
        return
    target = path.resolve()
    if not target.is_relative_to(layer.root.resolve()):
        raise OverlayError(
            f"symlink points outside its layer, to {os.readlink(path)}",
            path=path,
            hint="copy the file into the overlay instead of linking to it",
        )
    if not target.exists():
        raise OverlayError(f"symlink is dangling: {os.readlink(path)}", path=path)


def _check_file(layer: Layer, rel: str, full: Path) -> None:
    """Overlay-only checks: names FAI understands, executable bits, package lists."""
    _check_inside(layer, full)
    parts = PurePosixPath(rel).parts
    top = parts[0]
    name = parts[-1].removesuffix(".j2")
    if top == "hooks":
        _check_hook(full, name)
    elif top == "scripts":
        cls = parts[1].removesuffix(".j2")
        if not names.valid_class(cls):
            raise OverlayError(
                f"script directory '{cls}' is not a valid class name", path=full, hint=names.CLASS_HINT
            )
        if not os.access(full, os.X_OK) and not name.endswith((".md", ".txt")):
            raise OverlayError(
                "script is not executable, so FAI would skip it", path=full, hint=f"chmod +x {full}"
            )
    elif top == "class" and name.endswith(".var"):
        _check_class_name(name.removesuffix(".var"), full)
    elif top in ("package_config", "debconf", "disk_config") and len(parts) == 2:
        if top == "package_config" and name.endswith((".asc", ".gpg")):
            _check_class_name(name.rsplit(".", 1)[0], full)
            return
        _check_class_name(name, full)
        if top == "package_config" and not full.name.endswith(".j2"):
            pkgconfig.parse(full)
    elif top == "files" and len(parts) > 2:
        if name not in fai.fcopy_reserved():
            _check_class_name(name, full, hint_files=True)


def _check_hook(full: Path, name: str) -> None:
    stem = name.removesuffix(".sh")
    task, sep, cls = stem.partition(".")
    if not sep:
        raise OverlayError(
            f"hook name '{name}' has no class",
            path=full,
            hint="name hooks <task>.<CLASS>, e.g. configure.MYCLASS",
        )
    if task not in fai.tasks():
        raise OverlayError(
            f"hook '{name}' names unknown FAI task '{task}'",
            path=full,
            hint=f"tasks: {', '.join(sorted(fai.tasks()))}",
        )
    _check_class_name(cls, full)
    if not os.access(full, os.X_OK):
        raise OverlayError(
            "hook is not executable, so FAI would skip it", path=full, hint=f"chmod +x {full}"
        )


def _check_class_name(name: str, full: Path, hint_files: bool = False) -> None:
    if names.valid_class(name):
        return
    hint = names.CLASS_HINT
    if hint_files and name.replace("_", "-") in fai.fcopy_reserved():
        hint = f"did you mean '{name.replace('_', '-')}'? fcopy only knows that spelling"
    raise OverlayError(f"'{name}' is not a valid FAI class name", path=full, hint=hint)


def collect(layers: Sequence[Layer]) -> dict[str, Entry]:
    """Merge layers in order, detecting conflicts. Pure: reads, writes nothing."""
    merged: dict[str, Entry] = {}
    for layer in layers:
        replaces = set(layer.replaces)
        used: set[str] = set()
        for rel, full in _walk(layer):
            if layer.checked:
                _check_file(layer, rel, full)
            template = rel.endswith(".j2") and layer.checked
            target = rel.removesuffix(".j2") if template else rel
            link = _internal_link(layer, full)
            entry = Entry(target, layer.name, full, template, link)
            if target in merged:
                prev = merged[target]
                if target not in replaces:
                    raise OverlayError(
                        f"{target} is provided by both '{prev.layer}' ({prev.source}) and "
                        f"'{layer.name}' ({full})",
                        path=full,
                        hint=f"add '{target}' to 'replaces' in {layer.root / 'overlay.yaml'} "
                        "if the override is deliberate, or rename the file",
                    )
                entry.replaced = [*prev.replaced, prev.layer]
                used.add(target)
            merged[target] = entry
        stale = sorted(replaces - used)
        if stale:
            raise OverlayError(
                f"overlay '{layer.name}' replaces {stale[0]}, which no earlier layer provides",
                path=layer.root / "overlay.yaml",
                hint="remove the entry from 'replaces', or fix its path",
            )
    return merged


def _internal_link(layer: Layer, full: Path) -> str | None:
    if not full.is_symlink():
        return None
    _check_inside(layer, full)
    return os.readlink(full)


def check_requires(layers: Sequence[Layer], classes: Sequence[str]) -> None:
    present = set(classes)
    for layer in layers:
        if not layer.definition:
            continue
        for i, cls in enumerate(layer.definition.requires):
            if cls not in present:
                raise OverlayError(
                    f"overlay '{layer.name}' requires class {cls}, which nothing provides",
                    path=layer.definition.manifest,
                    line=layer.definition.line_of("requires", i),
                    hint="add an overlay that provides it, list it under 'classes', or pick a vendor "
                    "whose classes include it",
                )
        for cls, why in layer.definition.conflicts.items():
            if cls in present:
                raise OverlayError(
                    f"overlay '{layer.name}' cannot be combined with class {cls}: {why}",
                    path=layer.definition.manifest,
                    line=layer.definition.line_of("conflicts", cls),
                    hint=f"build without {cls}: drop the overlay or blend that provides it",
                )


def prepare(
    layers: Sequence[Layer], variables: Mapping[str, str], classes: Sequence[str]
) -> dict[str, Entry]:
    """Everything composition checks, with the templates rendered in memory; writes nothing."""
    merged = collect(layers)
    check_requires(layers, classes)
    roots = {layer.name: layer.root for layer in layers}
    for entry in merged.values():
        if entry.template:
            entry.content = render.render(entry.source, roots[entry.layer], variables)
    return merged
