"""The build plan: classes (with reasons), environment and the exact fai-diskimage argv.

Building a plan reads the image definition, the base and the overlays'
overlay.yaml, and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from overlay import classes as classlist
from overlay import commands, overlaydef
from overlay.base import Base, resolve
from overlay.compose import Layer, LayerKind
from overlay.config import ImageSpec
from overlay.errors import OverlayError

MIRROR_CLASS = "FAI_OVERLAY_MIRROR"


def internal_root() -> Path:
    return Path(str(resources.files("overlay").joinpath("data/internal")))


@dataclass(frozen=True)
class Plan:
    spec: ImageSpec
    base: Base
    layers: tuple[Layer, ...]
    classes: tuple[classlist.ClassEntry, ...]
    env: dict[str, str]
    argv: tuple[str, ...]
    out_dir: Path
    size: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def work_dir(self) -> Path:
        return self.out_dir / f".{self.name}.partial"

    @property
    def cspace(self) -> Path:
        return self.work_dir / "cspace"

    @property
    def raw(self) -> Path:
        return self.work_dir / f"{self.name}.raw"

    @property
    def state_dir(self) -> Path:
        return self.work_dir / "state"

    @property
    def apt_dir(self) -> Path:
        # /dev is bind-mounted into the target, so apt inside it sees this path.
        return Path("/dev/shm") / f"fai-overlay.{self.name}"

    def class_names(self) -> list[str]:
        return classlist.names(self.classes)

    def variables(self) -> dict[str, str]:
        """What .j2 templates see: overlay defaults, then the image's variables, then built-ins."""
        out: dict[str, str] = {}
        for layer in self.layers:
            if layer.definition:
                out.update(layer.definition.variables)
        out.update(self.spec.variables)
        out.update(
            release=self.spec.release,
            vendor=self.spec.vendor.value,
            arch=self.spec.arch.value,
            type=self.spec.type.value,
            name=self.name,
            version=self.spec.version,
        )
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "base": {"kind": self.base.kind.value, "config_space": str(self.base.config_space)},
            "layers": [{"name": la.name, "kind": la.kind.value, "path": str(la.root)} for la in self.layers],
            "classes": [{"name": c.name, "reason": c.reason} for c in self.classes],
            "env": dict(sorted(self.env.items())),
            "command": list(self.argv),
            "outputs": [str(self.out_dir / f"{self.name}.{f.value}") for f in self.spec.formats],
        }


def _layers(spec: ImageSpec, base: Base) -> list[Layer]:
    layers = [Layer(base.name, LayerKind.base, base.config_space)]
    names = {base.name}
    for root in spec.overlays:
        definition = overlaydef.load(root)
        if definition.name in names:
            raise OverlayError(
                f"two layers are named '{definition.name}'",
                path=root,
                hint="give one of them another 'name' in its overlay.yaml",
            )
        names.add(definition.name)
        layers.append(Layer(definition.name, LayerKind.overlay, root, definition))
    layers.append(Layer("fai-overlay", LayerKind.internal, internal_root()))
    return layers


def _class_entries(spec: ImageSpec, base: Base, layers: list[Layer]) -> list[classlist.ClassEntry]:
    drop = list(spec.drop_classes)
    extra: list[tuple[str, str]] = []
    for layer in layers:
        if layer.definition:
            drop += layer.definition.drops
            extra += [(c, f"provided by overlay {layer.name}") for c in layer.definition.provides]
    extra += [(c, "listed in the image definition") for c in spec.classes]
    if spec.mirror or spec.security_mirror:
        extra.append((MIRROR_CLASS, "build through the mirror setting"))
    return classlist.compute(
        base.classmap,
        release=spec.release,
        vendor=spec.vendor.value,
        arch=spec.arch.value,
        build_type=spec.type.value,
        drop=drop,
        extra=extra,
    )


def _env(spec: ImageSpec, base: Base, plan_dirs: dict[str, Path]) -> dict[str, str]:
    release = base.classmap.release(spec.release)
    info = {
        "type": spec.type.value,
        "release": spec.release,
        "release_id": release.id,
        "release_baseid": release.baseid,
        "vendor": spec.vendor.value,
        "arch": spec.arch.value,
        "build_id": spec.build_id,
        "version": spec.release_version,
    }
    env = {
        "CLOUD_BUILD_INFO": json.dumps(info),
        "CLOUD_BUILD_NAME": spec.name,
        "CLOUD_BUILD_OUTPUT_DIR": str(plan_dirs["work"]),
        "CLOUD_RELEASE_ID": spec.vendor.value,
        "CLOUD_RELEASE_VERSION": spec.release_version,
        "FAI_OVERLAY_STATE": str(plan_dirs["state"]),
        **base.extra_env(),
    }
    # build-only apt settings (always: see overlay/data/internal/hooks/instsoft.LAST)
    env["APT_CONFIG"] = str(plan_dirs["apt"] / "apt.conf")
    env["FAI_OVERLAY_APT_DIR"] = str(plan_dirs["apt"])
    if spec.mirror:
        env["FAI_OVERLAY_MIRROR"] = spec.mirror
    if spec.security_mirror:
        env["FAI_OVERLAY_SECURITY_MIRROR"] = spec.security_mirror
    if spec.apt_proxy:
        env["http_proxy"] = spec.apt_proxy
    env.update(spec.variables)
    return env


def make_plan(spec: ImageSpec, out_dir: Path) -> Plan:
    base = resolve(spec)
    layers = _layers(spec, base)
    entries = _class_entries(spec, base, layers)
    out_dir = out_dir.resolve()
    size = spec.size or f"{base.classmap.vendor(spec.vendor.value).size_gb}G"
    work = out_dir / f".{spec.name}.partial"
    dirs = {"work": work, "state": work / "state", "apt": Path("/dev/shm") / f"fai-overlay.{spec.name}"}
    env = _env(spec, base, dirs)
    argv = commands.fai_diskimage(
        classes=classlist.names(entries), size=size, cspace=work / "cspace", raw=work / f"{spec.name}.raw"
    )
    return Plan(spec, base, tuple(layers), tuple(entries), env, tuple(argv), out_dir, size)
