"""The image definition: a YAML file the user writes, validated at load time."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from overlay.errors import OverlayError

EMBEDDED = "embedded"
SIZE_RE = re.compile(r"^[1-9][0-9]*[MG]$")
VAR_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
CLASS_RE = re.compile(r"^[A-Z0-9_]+(\+[A-Z0-9_]+)*$")
RESERVED_VARS = frozenset(
    {
        "PATH",
        "HOME",
        "LOGDIR",
        "ROOTCMD",
        "LC_ALL",
        "LANG",
        "SHELL",
        "USER",
        "TERM",
        "PWD",
        "APT_CONFIG",
        "PYTHONPATH",
    }
)


class Vendor(enum.StrEnum):
    generic = "generic"
    genericcloud = "genericcloud"
    nocloud = "nocloud"


class Arch(enum.StrEnum):
    amd64 = "amd64"
    arm64 = "arm64"
    ppc64el = "ppc64el"

    @property
    def qemu_user(self) -> str | None:
        return {"arm64": "qemu-aarch64", "ppc64el": "qemu-ppc64le"}.get(self.value)


class BuildType(enum.StrEnum):
    dev = "dev"
    official = "official"


class Format(enum.StrEnum):
    raw = "raw"
    qcow2 = "qcow2"
    tar_xz = "tar.xz"


@dataclass(frozen=True)
class Waiver:
    test: str
    reason: str


@dataclass(frozen=True)
class ImageSpec:
    """A fully resolved image definition. Paths are absolute."""

    source: Path | None
    name_template: str
    base: str  # "embedded" or an absolute path
    overlays: tuple[Path, ...]
    release: str
    vendor: Vendor
    arch: Arch
    type: BuildType
    classes: tuple[str, ...] = ()
    drop_classes: tuple[str, ...] = ()
    size: str | None = None
    formats: tuple[Format, ...] = (Format.raw, Format.qcow2)
    variables: Mapping[str, str] = field(default_factory=dict)
    version: str = "1"
    build_id: str = "fai-overlay"
    date: str = field(default_factory=lambda: dt.date.today().strftime("%Y%m%d"))
    mirror: str | None = None
    security_mirror: str | None = None
    apt_proxy: str | None = None
    host_ca: bool = True
    apt_max_age: int = 0
    waivers: tuple[Waiver, ...] = ()
    backports: bool = False

    @property
    def name(self) -> str:
        fields = {
            "release": self.release,
            "vendor": self.vendor.value,
            "arch": self.arch.value,
            "type": self.type.value,
            "version": self.version,
            "date": self.date,
            "build_id": self.build_id,
            **self.variables,
        }
        try:
            name = self.name_template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise OverlayError(
                f"name template '{self.name_template}' uses unknown field {exc}",
                path=self.source,
                hint="fields: release, vendor, arch, type, version, date, build_id, or a key of variables",
            ) from None
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
            raise OverlayError(
                f"image name '{name}' is not a safe file name",
                path=self.source,
                hint="use letters, digits, '.', '_', '+' and '-'",
            )
        return name

    @property
    def release_version(self) -> str:
        """CLOUD_RELEASE_VERSION the way debian-cloud-images computes it."""
        return self.version if self.type is BuildType.dev else f"{self.date}-{self.version}"


@dataclass(frozen=True)
class Overrides:
    """Command-line flags; each one replaces the file's value."""

    name: str | None = None
    base: str | None = None
    overlays: Sequence[str] = ()
    release: str | None = None
    vendor: str | None = None
    arch: Sequence[str] = ()
    type: str | None = None
    classes: Sequence[str] = ()
    size: str | None = None
    formats: Sequence[str] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    mirror: str | None = None
    apt_proxy: str | None = None
    apt_max_age: int | None = None


def with_arch(spec: ImageSpec, arch: Arch) -> ImageSpec:
    return replace(spec, arch=arch)
