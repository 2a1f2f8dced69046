"""Fill a hidden staging directory with one version's files; the caller renames it into place."""

from __future__ import annotations

import glob
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.build import outputs
from overlay.core import commands, log
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.runner import Runner
from overlay.definition.spec import BuildType
from overlay.manifest import model
from overlay.publish import tree
from overlay.publish.tree import Kind, VersionId

FORMATS = ("raw", "qcow2", "tar.xz")
# Logs copied next to the images: <name>.<pattern>. Consoles are per firmware
# (console-bios.log, console-uefi.log) when `fai-overlay boot` wrote them.
LOG_PATTERNS = (
    "build.log",
    "console.log",
    "console-*.log",
    "test.log",
    "test.txt",
    "boot.txt",
    "boot-*.log",
)


@dataclass(frozen=True)
class Build:
    """One finished image in a build output directory."""

    name: str
    out_dir: Path
    manifest: model.BuildManifest

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / f"{self.name}.build.json"

    @property
    def release(self) -> str:
        return self.manifest.image.release

    def file(self, suffix: str) -> Path:
        return self.out_dir / f"{self.name}{suffix}"

    def recorded_sha512(self, fmt: str) -> str | None:
        out = self.manifest.output(fmt)
        return out.sha512 if out else None


def find_builds(out_dir: Path) -> list[Build]:
    if not out_dir.is_dir():
        raise OverlayError(
            "no such build output directory", path=out_dir, hint="pass the -o of 'fai-overlay build'"
        )
    builds = []
    for path in sorted(out_dir.glob("*.build.json")):
        data = model.load(path)
        if data.image.type is BuildType.dev:
            raise OverlayError(
                f"{data.name} is a development image (type: dev): root logs in on its serial console "
                "without a password, so it is never published",
                path=path,
                hint="build the image with type: official (the default) to publish it",
            )
        builds.append(Build(data.name, out_dir, data))
    if not builds:
        raise OverlayError(
            "no <name>.build.json here: nothing to publish",
            path=out_dir,
            hint="publish the output directory of a successful 'fai-overlay build'",
        )
    return builds


def _copy_checked(build: Build, fmt: str, dest: Path) -> str:
    digest = tree.copy_sparse(build.file(f".{fmt}"), dest)
    recorded = build.recorded_sha512(fmt)
    if recorded and recorded != digest:
        raise OverlayError(
            f"{build.name}.{fmt} does not match the sha512 in its manifest",
            path=build.file(f".{fmt}"),
            hint="it changed after the build; rebuild the image",
            code=ExitCode.FAILED,
        )
    return digest


def _images(build: Build, stage: Path, stem: str, runner: Runner) -> dict[str, str]:
    """Copy the build's images; make the missing formats from them. Returns {file: sha512}."""
    raw, qcow2, txz = (stage / f"{stem}.{fmt}" for fmt in FORMATS)
    sums: dict[str, str] = {}
    if build.file(".raw").is_file():
        sums[raw.name] = _copy_checked(build, "raw", raw)
    if build.file(".qcow2").is_file():
        sums[qcow2.name] = _copy_checked(build, "qcow2", qcow2)
    if not sums:
        raise OverlayError(
            f"{build.name} has neither a .raw nor a .qcow2 image",
            path=build.out_dir,
            hint="build with formats raw or qcow2",
        )
    if not raw.exists():
        with log.step(f"Converting {qcow2.name} to raw"):
            runner.run(commands.raw_from_qcow2(qcow2, raw))
    if not qcow2.exists():
        with log.step(f"Converting {raw.name} to compressed qcow2"):
            runner.run(commands.qcow2_convert(raw, qcow2))
    if build.file(".tar.xz").is_file():
        sums[txz.name] = _copy_checked(build, "tar.xz", txz)
    else:
        tar = stage / f"{stem}.tar"
        with log.step(f"Packing {raw.name} as disk.raw into {txz.name}"):
            runner.run(commands.tar_disk_raw(raw, tar))
            runner.run(commands.xz(tar))
    return sums


def _side_files(build: Build, stage: Path, stem: str) -> dict[str, Any]:
    """Manifest, logs, junit and FAI logs, renamed to the version's stem."""
    shutil.copyfile(build.manifest_path, stage / f"{stem}.{tree.MANIFEST_EXT}")
    logs: dict[str, str] = {}
    for pattern in LOG_PATTERNS:
        for path in sorted(build.out_dir.glob(f"{glob.escape(build.name)}.{pattern}")):
            suffix = path.name[len(build.name) + 1 :]
            shutil.copyfile(path, stage / f"{stem}.{suffix}")
            logs[suffix] = f"{stem}.{suffix}"
    junit: dict[str, str] = {}
    for path in sorted(build.out_dir.glob(f"{glob.escape(build.name)}.*.junit.xml")):
        middle = path.name[len(build.name) + 1 : -len(".junit.xml")]
        shutil.copyfile(path, stage / f"{stem}.{middle}.junit.xml")
        junit[middle] = f"{stem}.{middle}.junit.xml"
    fai = build.file(".fai-logs")
    if fai.is_dir() and not fai.is_symlink():
        (stage / f"{stem}.fai-logs").mkdir()
        for name in outputs.FAI_LOGS:  # only the logs fai-overlay knows (and scrubbed at build time)
            if (fai / name).is_file() and not (fai / name).is_symlink():
                shutil.copyfile(fai / name, stage / f"{stem}.fai-logs" / name)
        logs["fai-logs/"] = f"{stem}.fai-logs/"
    return {"manifest": f"{stem}.{tree.MANIFEST_EXT}", "logs": logs, "junit": junit}


def stage_version(
    builds: list[Build], stage: Path, kind: Kind, version: VersionId, runner: Runner, published: str
) -> dict[str, Any]:
    """Write every file of the version into `stage`, then SHA512SUMS, .latest/ and publish.json."""
    stage.mkdir(parents=True)
    images, known, links = [], {}, {}
    for build in builds:
        stem = tree.stem(build.name, kind, version)
        with log.step(f"Staging {stem}"):
            known.update(_images(build, stage, stem, runner))
            record = {"name": build.name, "stem": stem, **_side_files(build, stage, stem)}
        record["files"] = {fmt: f"{stem}.{fmt}" for fmt in FORMATS}
        images.append(record)
        alias = tree.latest_stem(build.name, kind)
        links.update({f"{alias}.{fmt}": f"{stem}.{fmt}" for fmt in (*FORMATS, tree.MANIFEST_EXT)})
    doc = {
        "kind": kind.value,
        "release": builds[0].release,
        "version": str(version),
        "published": published,
        "images": images,
    }
    (stage / tree.RECORD).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    sums = tree.write_sums(stage, known)
    tree.write_latest_dir(stage, links, sums)
    tree.freeze(stage)
    return doc


def recorded_manifest(version_dir: Path, name: str) -> model.BuildManifest | None:
    """The manifest of image `name` as published in `version_dir`, if it is there."""
    for image in tree.read_record(version_dir).get("images", []):
        if image.get("name") == name:
            path = version_dir / image["manifest"]
            return model.load(path) if path.is_file() else None
    return None
