"""The build plan: layers, classes (with reasons), environment and the exact fai-diskimage argv.

Building a plan reads the image definition, the base and the overlays'
overlay.yaml, and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from overlay.build.hostsetup import HostPaths
from overlay.compose import classes as classlist
from overlay.compose import merge, overlaydef
from overlay.compose.base import Base, resolve
from overlay.compose.merge import Layer, LayerKind
from overlay.core import commands, debian, resources
from overlay.core.errors import OverlayError
from overlay.core.secrets import redact_url
from overlay.definition.spec import Cache, ImageSpec

MIRROR_CLASS = "FAI_OVERLAY_MIRROR"
INTERNAL_LAYER = "fai-overlay"


def internal_root() -> Path:
    return resources.package_path("data", "internal")


def work_dir_for(out_dir: Path, name: str) -> Path:
    """Where a build works, hidden in the output directory until it hands over."""
    return out_dir / f".{name}.partial"


def apt_dir_for(host: HostPaths, name: str) -> Path:
    """Build-only apt settings: /dev is bind-mounted into the target, so apt inside it sees this path."""
    return host.shm / f"fai-overlay.{name}"


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
    host: HostPaths = field(default_factory=HostPaths)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def work_dir(self) -> Path:
        return work_dir_for(self.out_dir, self.name)

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
        return apt_dir_for(self.host, self.name)

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
            arch=self.spec.arch.name,
            type=self.spec.type.value,
            name=self.name,
            version=self.spec.version,
        )
        return out

    def shown_env(self) -> dict[str, str]:
        """The environment as plan prints it and the manifest records it: credentials masked."""
        return {k: redact_url(v) for k, v in sorted(self.env.items())}

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "base": {"kind": self.base.kind.value, "config_space": str(self.base.config_space)},
            "layers": [{"name": la.name, "kind": la.kind.value, "path": str(la.root)} for la in self.layers],
            "classes": [{"name": c.name, "reason": c.reason} for c in self.classes],
            "env": self.shown_env(),
            "command": list(self.argv),
            "outputs": [str(self.out_dir / f"{self.name}.{f.value}") for f in self.spec.formats],
        }


def _layers(spec: ImageSpec, base: Base) -> list[Layer]:
    layers = [Layer(base.name, LayerKind.base, base.config_space)]
    names = {base.name}
    for root in spec.overlays:
        if not root.is_dir():
            raise OverlayError(
                f"overlay directory {root} does not exist",
                path=spec.source,
                hint="check the overlay paths of the image definition (or of the manifest's inputs)",
            )
        definition = overlaydef.load(root)
        if definition.name in names:
            raise OverlayError(
                f"two layers are named '{definition.name}'",
                path=root,
                hint="give one of them another 'name' in its overlay.yaml",
            )
        names.add(definition.name)
        layers.append(Layer(definition.name, LayerKind.overlay, root, definition))
    layers.append(Layer(INTERNAL_LAYER, LayerKind.internal, internal_root()))
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
    elif spec.cache is not Cache.none:
        extra.append((MIRROR_CLASS, "build through the package cache (plain http sources during the build)"))
    return classlist.compute(
        base.classmap,
        release=spec.release,
        vendor=spec.vendor.value,
        arch=spec.arch.name,
        build_type=spec.type.value,
        drop=drop,
        extra=extra,
    )


def _env(spec: ImageSpec, base: Base, work: Path, apt_dir: Path) -> dict[str, str]:
    release = base.classmap.release(spec.release)
    info = {
        "type": spec.type.value,
        "release": spec.release,
        "release_id": release.id,
        "release_baseid": release.baseid,
        "vendor": spec.vendor.value,
        "arch": spec.arch.name,
        "build_id": spec.build_id,
        "version": spec.release_version,
    }
    env = {
        "CLOUD_BUILD_INFO": json.dumps(info),
        "CLOUD_BUILD_NAME": spec.name,
        "CLOUD_BUILD_OUTPUT_DIR": str(work),
        "CLOUD_RELEASE_ID": spec.vendor.value,
        "CLOUD_RELEASE_VERSION": spec.release_version,
        "FAI_OVERLAY_STATE": str(work / "state"),
        **base.extra_env(),
    }
    # build-only apt settings (always: see overlay/data/internal/hooks/instsoft.LAST)
    env["APT_CONFIG"] = str(apt_dir / "apt.conf")
    env["FAI_OVERLAY_APT_DIR"] = str(apt_dir)
    cached = spec.cache is not Cache.none  # a cache keeps http only: the build reads http sources
    mirror = spec.mirror or (debian.DEFAULT_MIRROR if cached else None)
    security = spec.security_mirror or (debian.DEFAULT_SECURITY_MIRROR if cached else None)
    if mirror:
        env["FAI_OVERLAY_MIRROR"] = mirror
    if security:
        env["FAI_OVERLAY_SECURITY_MIRROR"] = security
    if spec.apt_proxy and not cached:  # with a cache, the build's proxy is the cache (set when it runs)
        env["http_proxy"] = spec.apt_proxy
    env.update(spec.variables)
    return env


def make_plan(spec: ImageSpec, out_dir: Path, host: HostPaths | None = None) -> Plan:
    host = host or HostPaths()
    base = resolve(spec)
    layers = _layers(spec, base)
    entries = _class_entries(spec, base, layers)
    out_dir = out_dir.resolve()
    size = spec.size or f"{base.classmap.vendor(spec.vendor.value).size_gb}G"
    work = work_dir_for(out_dir, spec.name)
    env = _env(spec, base, work, apt_dir_for(host, spec.name))
    argv = commands.fai_diskimage(
        classes=classlist.names(entries), size=size, cspace=work / "cspace", raw=work / f"{spec.name}.raw"
    )
    plan = Plan(spec, base, tuple(layers), tuple(entries), env, tuple(argv), out_dir, size, host)
    merge.prepare(plan.layers, plan.variables(), plan.class_names())  # every check compose makes
    return plan
