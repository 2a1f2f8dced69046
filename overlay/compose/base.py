"""Find the base config space: the embedded base_classes, or debian-cloud-images."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from overlay.compose import classmap
from overlay.core import resources
from overlay.core.errors import OverlayError
from overlay.definition.spec import EMBEDDED, ImageSpec

DCI_IMAGE_YAML = Path("src/debian_cloud_images/resources/image.yaml")


class BaseKind(enum.StrEnum):
    embedded = "embedded"
    dci = "debian-cloud-images"


@dataclass(frozen=True)
class Base:
    kind: BaseKind
    config_space: Path  # the FAI config space directory that will be copied
    classmap: classmap.ClassMap
    checkout: Path | None = None  # debian-cloud-images checkout root

    @property
    def name(self) -> str:
        return "base_classes" if self.kind is BaseKind.embedded else "debian-cloud-images"

    def extra_env(self) -> dict[str, str]:
        """What upstream's in-build test hook needs (tests.BUILD_IMAGE)."""
        if self.checkout is None:
            return {}
        return {
            "PYTHONPATH": str(self.checkout / "src"),
            "CLOUD_BUILD_SYSTEM_TESTS": str(self.checkout / "system_tests"),
        }


def embedded_root() -> Path:
    """The embedded config space, shipped inside the package (overlay/base_classes)."""
    root = resources.package_path("base_classes")
    if not (root / "image.yaml").is_file():
        raise OverlayError(
            f"the embedded base is missing at {root}",
            hint="reinstall fai-overlay: the package is incomplete",
        )
    return root


def resolve(spec: ImageSpec) -> Base:
    if spec.base == EMBEDDED:
        root = embedded_root()
        base = Base(BaseKind.embedded, root, classmap.load(root / "image.yaml"))
    else:
        base = _resolve_dci(Path(spec.base), spec)
    _check_known(spec, base)
    return base


def _check_known(spec: ImageSpec, base: Base) -> None:
    """Release, vendor, architecture and type must be ones the base defines (errors cite the definition)."""
    for key, value, table in (
        ("release", spec.release, base.classmap.releases),
        ("vendor", spec.vendor.value, base.classmap.vendors),
        ("arch", spec.arch.name, base.classmap.archs),
        ("type", spec.type.value, base.classmap.types),
    ):
        if value not in table:
            raise spec.error(
                key,
                f"{key} '{value}' is not defined by the {base.name} base",
                hint=f"it knows: {', '.join(table)} (from {base.classmap.path})",
            )


def _resolve_dci(path: Path, spec: ImageSpec) -> Base:
    if not path.is_dir():
        raise spec.error(
            "base",
            f"base {path} is not a directory",
            hint="use 'embedded', a debian-cloud-images checkout or its config_space/<id>",
        )
    if (path / DCI_IMAGE_YAML).is_file():
        checkout = path
        cmap = classmap.load(checkout / DCI_IMAGE_YAML)
        if spec.release not in cmap.releases:
            raise spec.error("release", f"release '{spec.release}' is not defined by {checkout}")
        baseid = cmap.release(spec.release).baseid
        cspace = checkout / "config_space" / baseid
        if not cspace.is_dir():
            raise spec.error(
                "base",
                f"{cspace} does not exist",
                hint=f"this checkout has no config space for {spec.release}",
            )
        return Base(BaseKind.dci, cspace.resolve(), cmap, checkout)
    if path.parent.name == "config_space" and (path.parent.parent / DCI_IMAGE_YAML).is_file():
        checkout = path.parent.parent
        cmap = classmap.load(checkout / DCI_IMAGE_YAML)
        if spec.release not in cmap.releases:
            raise spec.error("release", f"release '{spec.release}' is not defined by {checkout}")
        baseid = cmap.release(spec.release).baseid
        if path.resolve() != (checkout / "config_space" / baseid).resolve():
            raise spec.error(
                "base",
                f"base {path} is config_space/{path.name}, "
                f"but release {spec.release} uses config_space/{baseid}",
                hint="point base at the checkout root to pick the config space by release",
            )
        return Base(BaseKind.dci, path.resolve(), cmap, checkout)
    raise spec.error(
        "base",
        f"base {path} is neither a debian-cloud-images checkout nor its config_space/<id>",
        hint=f"a checkout has {DCI_IMAGE_YAML}; or use 'base: embedded'",
    )
