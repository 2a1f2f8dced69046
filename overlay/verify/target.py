"""The image under test: its file, its manifest, and what the checks should expect."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from overlay import manifest
from overlay.config import Arch
from overlay.errors import OverlayError


@functools.cache
def expectations() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        resources.files("overlay").joinpath("data/checks.yaml").read_text()
    )
    return data


@dataclass(frozen=True)
class Target:
    image: Path
    manifest_path: Path
    data: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def arch(self) -> Arch:
        return Arch(self.data["image"]["arch"])

    @property
    def vendor(self) -> str:
        return str(self.data["image"]["vendor"])

    @property
    def out_dir(self) -> Path:
        return self.manifest_path.parent

    @property
    def base_kind(self) -> str:
        return str(self.data["base"]["kind"])

    def overlay_dirs(self) -> list[Path]:
        return [Path(la["path"]) for la in self.data["layers"] if la["kind"] == "overlay"]

    def test_dirs(self) -> list[Path]:
        return [d / "tests" for d in self.overlay_dirs() if (d / "tests").is_dir()]

    def allow(self) -> dict[str, list[str]]:
        """Allow-list additions declared by the overlays ('allow:' in overlay.yaml)."""
        out: dict[str, list[str]] = {}
        for d in self.overlay_dirs():
            path = d / "overlay.yaml"
            if path.is_file():
                doc = yaml.safe_load(path.read_text()) or {}
                for key, values in (doc.get("allow") or {}).items():
                    out.setdefault(key, []).extend(values)
        return out

    def expects_backports(self) -> bool:
        """The image asked for backports, or its base enables them (debian-cloud-images does)."""
        return bool(self.data["image"].get("backports")) or self.base_kind == "debian-cloud-images"


def resolve(path: Path) -> Target:
    """Accept an image (.raw, .qcow2) or its manifest; the manifest must sit next to the image."""
    path = path.resolve()
    if path.name.endswith(".build.json"):
        manifest_path = path
        stem = path.name.removesuffix(".build.json")
        candidates = [path.with_name(f"{stem}.raw"), path.with_name(f"{stem}.qcow2")]
        image = next((c for c in candidates if c.is_file()), candidates[0])
    else:
        image = path
        stem = path.name.rsplit(".", 1)[0]
        manifest_path = path.with_name(f"{stem}.build.json")
    if not image.is_file():
        raise OverlayError(f"image {image} not found", hint="build it first with 'fai-overlay build'")
    if not manifest_path.is_file():
        raise OverlayError(
            f"no manifest next to {image}",
            path=manifest_path,
            hint="fai-overlay test and boot read what to expect from <name>.build.json",
        )
    return Target(image, manifest_path, manifest.load(manifest_path))


def write_summary(path: Path, title: str, junit: Path) -> str:
    """A one-screen summary of a junit report; also written to `path`."""
    from overlay.faistatus import junit_failures

    counts, failed = junit_failures(junit)
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    lines = [f"{title}: {passed} passed, {len(failed)} failed, {counts['skipped']} skipped"]
    lines += [f"  FAILED {t}" for t in failed[:30]]
    if len(failed) > 30:
        lines.append(f"  … and {len(failed) - 30} more (see {junit.name})")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def dump_context(path: Path, context: dict[str, Any]) -> None:
    path.write_text(json.dumps(context, indent=2, sort_keys=True))
