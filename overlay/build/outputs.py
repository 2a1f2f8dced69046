"""Image formats and the atomic hand-over of a finished build into the output directory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from overlay.core import commands, files, log
from overlay.core.runner import Runner
from overlay.definition.spec import Format
from overlay.manifest.model import OutputFile

IMAGE_SUFFIXES = tuple(f".{f.value}" for f in Format)
# What else a build leaves in its output directory, each <name><suffix>. CI jobs
# (overlay/ci) name their artifacts from these.
MANIFEST = ".build.json"
FAILED = ".build.failed.json"
BUILD_LOG = ".build.log"
FAI_LOG_DIR = ".fai-logs"
BUILD_JUNIT = ".build.junit.xml"
COMPOSE = ".compose.json"
REBUILD = ".rebuild"
INFO = ".info"


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


def format_of(path: Path) -> Format:
    return next(f for f in Format if path.name.endswith(f".{f.value}"))


def describe(paths: Sequence[Path]) -> list[OutputFile]:
    return [
        OutputFile(
            file=path.name,
            format=format_of(path).value,
            size=path.stat().st_size,
            allocated=path.stat().st_blocks * 512,
            sha512=files.sha512_file(path),
        )
        for path in paths
    ]


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
    (out_dir / f"{name}{FAILED}").unlink(missing_ok=True)
    ordered = sorted(files, key=lambda f: f.name.endswith(MANIFEST))
    moved = []
    for path in ordered:
        target = out_dir / path.name
        os.replace(path, target)
        moved.append(target)
    return moved


# The files of FAI's log directory that are copied to the output (and published); others stay behind.
FAI_LOGS = (
    "fai.log", "status.log", "scripts.log", "software.log", "fcopy.log", "debconf.data", "debconf.log",
    "format.log", "error.log", "shell.log", "variables.log", "fai-monitor.log", "fai-overlay-created-nodes",
)  # fmt: skip


def copy_logs(src: Path, dest: Path, scrub: Callable[[str, str], str]) -> None:
    """The known files of FAI's log directory, each passed through `scrub(name, text)`, into `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(mode=0o750)
    for name in FAI_LOGS:
        path = src / name
        if path.is_file() and not path.is_symlink():
            (dest / name).write_text(scrub(name, path.read_text(errors="replace")))
