"""Compose a base config space and overlays into one fresh FAI config space.

Inputs are never modified. Every path in the result is recorded in
compose.json with the layer it came from and its sha256.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import jinja2

from overlay.compose import fai, pkgconfig
from overlay.compose.overlaydef import FAI_DIRS, NON_SPACE, OverlayDef
from overlay.core import log
from overlay.core.errors import OverlayError
from overlay.core.files import sha256_file
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


@dataclass(frozen=True)
class Composition:
    root: Path
    record: Path
    files: dict[str, dict[str, object]]


def _walk(layer: Layer) -> Iterator[tuple[str, Path]]:
    root = layer.root
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
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for dirname in dirnames:
                _check_inside(layer, Path(dirpath) / dirname)
            for filename in sorted(filenames):
                if filename.startswith(".") or filename.endswith(("~", ".pyc", ".swp")):
                    continue
                full = Path(dirpath) / filename
                yield full.relative_to(root).as_posix(), full


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


def _render(entry: Entry, variables: Mapping[str, str]) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        loader=jinja2.FileSystemLoader(str(entry.source.parent)),
    )
    try:
        return env.from_string(entry.source.read_text()).render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        raise OverlayError(f"template error: {exc.message}", path=entry.source, line=exc.lineno) from None
    except jinja2.UndefinedError as exc:
        raise OverlayError(
            f"template uses an undefined variable: {exc.message}",
            path=entry.source,
            hint="define it under 'variables' in the image definition",
        ) from None


def write(
    merged: Mapping[str, Entry], dest: Path, variables: Mapping[str, str], layers: Sequence[Layer]
) -> Composition:
    """Write the composed tree to `dest` (fresh) and compose.json beside it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files: dict[str, dict[str, object]] = {}
    for rel in sorted(merged):
        entry = merged[rel]
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if entry.link is not None:
            os.symlink(entry.link, out)
        elif entry.template:
            out.write_text(_render(entry, variables))
            shutil.copymode(entry.source, out)
        else:
            shutil.copy2(entry.source, out, follow_symlinks=True)
        record: dict[str, object] = {
            "layer": entry.layer,
            "sha256": sha256_file(out),
            "mode": f"{stat.S_IMODE(out.lstat().st_mode):04o}",
            "source": str(entry.source),
        }
        if entry.template:
            record["rendered_from"] = entry.source.name
        if entry.link is not None:
            record["symlink"] = entry.link
        if entry.replaced:
            record["replaces"] = entry.replaced
        files[rel] = record
    doc = {
        "layers": [{"name": la.name, "kind": la.kind.value, "path": str(la.root)} for la in layers],
        "files": files,
    }
    record_path = dest.parent / "compose.json"
    record_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return Composition(dest, record_path, files)


def compose(
    layers: Sequence[Layer], dest: Path, variables: Mapping[str, str], classes: Sequence[str]
) -> Composition:
    with log.step(f"Composing {len(layers)} layers into {dest}"):
        merged = collect(layers)
        check_requires(layers, classes)
        result = write(merged, dest, variables, layers)
        log.info(f"{len(result.files)} files; origins in {result.record}")
        return result
