"""Writing a composed config space, all or nothing, with compose.json beside it.

Inputs are never modified. Every path in the result is recorded in
compose.json with the layer it came from, its mode and sha256. The tree is
written under a temporary name and renamed into place, so a failed compose
leaves the previous result (or nothing), never half a config space.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from overlay.compose.merge import Entry, Layer, prepare
from overlay.core import log
from overlay.core.files import sha256_file


@dataclass(frozen=True)
class Composition:
    root: Path
    record: Path
    files: dict[str, dict[str, object]]


def _write_entry(entry: Entry, out: Path) -> dict[str, object]:
    out.parent.mkdir(parents=True, exist_ok=True)
    if entry.link is not None:
        os.symlink(entry.link, out)
    elif entry.content is not None:
        out.write_text(entry.content)
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
    return record


def write(merged: Mapping[str, Entry], dest: Path, layers: Sequence[Layer]) -> Composition:
    """Write the composed tree to `dest` and compose.json beside it, replacing both at the end."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    record_path = dest.parent / "compose.json"
    record_tmp = record_path.with_name(f".compose.json.{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        files = {rel: _write_entry(merged[rel], tmp / rel) for rel in sorted(merged)}
        doc = {
            "layers": [{"name": la.name, "kind": la.kind.value, "path": str(la.root)} for la in layers],
            "files": files,
        }
        record_tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
        os.replace(record_tmp, record_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        record_tmp.unlink(missing_ok=True)
    return Composition(dest, record_path, files)


def compose(
    layers: Sequence[Layer], dest: Path, variables: Mapping[str, str], classes: Sequence[str]
) -> Composition:
    with log.step(f"Composing {len(layers)} layers into {dest}"):
        result = write(prepare(layers, variables, classes), dest, layers)
        log.info(f"{len(result.files)} files; origins in {result.record}")
        return result
