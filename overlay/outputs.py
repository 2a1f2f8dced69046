"""Image formats and the atomic hand-over of a finished build into the output directory."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from overlay import commands, log
from overlay.config import Format
from overlay.runner import Runner

IMAGE_SUFFIXES = tuple(f".{f.value}" for f in Format)
SIDE_FILES = (".build.json", ".rebuild", ".compose.json")


def sha512_file(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert(raw: Path, formats: Sequence[Format], runner: Runner) -> list[Path]:
    """Write the requested formats next to `raw` (in the work directory)."""
    produced: list[Path] = []
    for fmt in formats:
        target = raw.with_suffix(f".{fmt.value}")
        if fmt is Format.raw:
            produced.append(raw)
        elif fmt is Format.qcow2:
            with log.step("Converting to compressed qcow2"):
                runner.run(commands.qcow2_convert(raw, target))
            produced.append(target)
        elif fmt is Format.tar_xz:
            tar = raw.with_suffix(".tar")
            with log.step("Packing disk.raw into tar.xz"):
                runner.run(commands.tar_disk_raw(raw, tar))
                runner.run(commands.xz(tar))
            produced.append(tar.with_suffix(".tar.xz"))
    return produced


def describe(paths: Sequence[Path]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        fmt = "tar.xz" if path.name.endswith(".tar.xz") else path.suffix.lstrip(".")
        out.append(
            {
                "file": path.name,
                "format": fmt,
                "size": path.stat().st_size,
                "allocated": path.stat().st_blocks * 512,
                "sha512": sha512_file(path),
            }
        )
    return out


def hand_over(work: Path, out_dir: Path, name: str, files: Sequence[Path]) -> list[Path]:
    """Move finished files from the work directory into `out_dir`.

    Images of an older build with the same name that this build did not make
    are removed, so the directory never mixes two builds. The manifest moves
    last: its presence marks a complete build.
    """
    keep = {f.name for f in files}
    for suffix in IMAGE_SUFFIXES:
        stale = out_dir / f"{name}{suffix}"
        if stale.name not in keep and stale.exists():
            log.info(f"removing {stale.name} from an earlier build of {name}")
            stale.unlink()
    (out_dir / f"{name}.build.failed.json").unlink(missing_ok=True)
    ordered = sorted(files, key=lambda f: f.name.endswith(".build.json"))
    moved = []
    for path in ordered:
        target = out_dir / path.name
        os.replace(path, target)
        moved.append(target)
    return moved


def copy_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=True)
