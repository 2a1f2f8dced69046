"""The image under test: its file, its manifest, and what the checks should expect."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.compose import overlaydef
from overlay.core import log, resources
from overlay.core.arches import Arch
from overlay.core.errors import OverlayError
from overlay.manifest import model


@functools.cache
def expectations() -> dict[str, Any]:
    """The built-in checks' allow-lists (data/checks.yaml)."""
    data: dict[str, Any] = resources.data_yaml("checks.yaml").data
    return data


@dataclass(frozen=True)
class Target:
    image: Path
    manifest_path: Path
    manifest: model.BuildManifest = field(repr=False)
    # overlay name -> its directory on this host, for an image built elsewhere (--overlay-dir)
    local_overlays: Mapping[str, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def arch(self) -> Arch:
        return self.manifest.image.arch

    @property
    def out_dir(self) -> Path:
        return self.manifest_path.parent

    def overlay_dirs(self) -> list[Path]:
        """The overlays' directories: where the build found them, or where --overlay-dir says."""
        layers = [la for la in self.manifest.layers if la.kind == "overlay"]
        return [self.local_overlays.get(la.name, Path(la.path)) for la in layers]

    def overlays(self) -> list[overlaydef.OverlayDef]:
        return [overlaydef.load(d) for d in self.overlay_dirs() if d.is_dir()]

    def test_dirs(self) -> list[Path]:
        return [d / "tests" for d in self.overlay_dirs() if (d / "tests").is_dir()]

    def missing_overlays(self) -> list[Path]:
        """Overlays of the manifest that are not on this host: their allowances and tests are lost."""
        return [d for d in self.overlay_dirs() if not d.is_dir()]

    def allow(self) -> dict[str, list[str]]:
        """Allow-list additions the overlays declare ('allow:' in overlay.yaml, read by its loader)."""
        out: dict[str, list[str]] = {key: [] for key in overlaydef.ALLOW_KEYS}
        for definition in self.overlays():
            for key, values in definition.allow.items():
                out[key].extend(values)
        return out

    def expects_backports(self) -> bool:
        """The image asked for backports, or its base enables them.

        debian-cloud-images enables the release's backports (class DEBIAN's debian.sources),
        except for sid (class SID's has none).
        """
        if self.manifest.image.backports:
            return True
        return self.manifest.base.kind == "debian-cloud-images" and "SID" not in self.manifest.classes

    def expect(self) -> dict[str, Any]:
        """What the checks compare against: data/checks.yaml plus the overlays' allowances."""
        return {**expectations(), "allow": self.allow(), "backports": self.expects_backports()}


def resolve(path: Path, overlay_dirs: Sequence[Path] = ()) -> Target:
    """Accept an image (.raw, .qcow2) or its manifest; the manifest must sit next to the image.

    `overlay_dirs` stand in for the manifest's overlays of the same name (an image built elsewhere).
    """
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
    manifest = model.load(manifest_path)
    names = {la.name for la in manifest.layers if la.kind == "overlay"}
    local: dict[str, Path] = {}
    for directory in overlay_dirs:
        name = overlaydef.load(directory.resolve()).name
        if name not in names:
            raise OverlayError(
                f"{image.name} was not built with an overlay named {name!r} ({directory})",
                hint=f"its overlays: {', '.join(sorted(names)) or 'none'}",
            )
        local[name] = directory.resolve()
    target = Target(image, manifest_path, manifest, local)
    for missing in target.missing_overlays():
        log.warn(
            f"overlay {missing} is not on this host: its checks and allowances are left out (--overlay-dir)"
        )
    return target


def dump_context(path: Path, context: dict[str, Any]) -> None:
    path.write_text(json.dumps(context, indent=2, sort_keys=True))
