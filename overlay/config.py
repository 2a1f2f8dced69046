"""The image definition: a YAML file the user writes, validated at load time."""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from overlay import yamlsrc
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


KNOWN_KEYS = {
    "name",
    "base",
    "overlays",
    "release",
    "vendor",
    "arch",
    "type",
    "classes",
    "drop_classes",
    "size",
    "formats",
    "variables",
    "version",
    "build_id",
    "mirror",
    "security_mirror",
    "apt_proxy",
    "host_ca",
    "waive_tests",
    "backports",
    "apt_max_age",
}


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


def _enum(doc: yamlsrc.Doc, key: str, value: Any, kind: type[enum.StrEnum]) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        choices = ", ".join(m.value for m in kind)  # type: ignore[attr-defined]
        raise doc.error((key,), f"{key} '{value}' is not one of: {choices}") from None


def _str_list(doc: yamlsrc.Doc, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise doc.error((key,), f"{key} must be a list of strings")
    return [str(v) for v in value]


def _check_classes(doc: yamlsrc.Doc, key: str, names: list[str]) -> None:
    for i, name in enumerate(names):
        if not CLASS_RE.match(name):
            raise doc.error(
                (key, i),
                f"class name '{name}' is invalid",
                hint="FAI class names use A-Z, 0-9 and _ (no '-', '.', '#', ';'); "
                "combinations join classes with '+'",
            )


def _variables(doc: yamlsrc.Doc, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(("variables",), "variables must be a mapping of NAME: value")
    out = {}
    for k, v in value.items():
        if not VAR_RE.match(k) or k in RESERVED_VARS or k.startswith("FAI_"):
            raise doc.error(
                ("variables", k),
                f"variable name '{k}' is not allowed",
                hint="use an upper-case shell name that is not PATH, FAI_* or another "
                "variable FAI itself uses",
            )
        if isinstance(v, dict | list):
            raise doc.error(("variables", k), f"variable {k} must be a string, number or boolean")
        out[k] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


def _waivers(doc: yamlsrc.Doc, value: Any) -> tuple[Waiver, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.error(("waive_tests",), "waive_tests must be a list")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"test", "reason"}:
            raise doc.error(
                ("waive_tests", i),
                "each waiver needs exactly 'test' and 'reason'",
                hint="e.g. {test: test_etc.TestEtc.test_group_name[clock], reason: ...}",
            )
        out.append(Waiver(str(item["test"]), str(item["reason"])))
    return tuple(out)


def _path(base_dir: Path, value: str) -> Path:
    """Relative to the definition's directory; ~ and $VARIABLES are expanded."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    if "$" in expanded:
        missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
        raise OverlayError(
            f"path '{value}' uses ${missing[0] if missing else '?'}, which is not set",
            hint="export the variable, or write the path out",
        )
    return (base_dir / expanded).resolve()


def _url(doc: yamlsrc.Doc, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^(https?|file)://\S+$", value):
        raise doc.error((key,), f"{key} must be an http://, https:// or file:// URL, got '{value}'")
    return value.rstrip("/")


class _CliDoc(yamlsrc.Doc):
    """A Doc whose overridden keys report the command line instead of a file line."""

    cli_keys: set[str]

    def error(self, key: yamlsrc.Key, message: str, hint: str | None = None) -> OverlayError:
        if key and key[0] in self.cli_keys:
            return OverlayError(f"--{str(key[0]).replace('_', '-')}: {message}", hint=hint)
        return super().error(key, message, hint)


def _merge(data: dict[str, Any], ov: Overrides) -> set[str]:
    cli: set[str] = set()
    scalars = {
        "name": ov.name,
        "base": ov.base,
        "release": ov.release,
        "vendor": ov.vendor,
        "type": ov.type,
        "size": ov.size,
        "version": ov.version,
        "mirror": ov.mirror,
        "apt_proxy": ov.apt_proxy,
        "apt_max_age": ov.apt_max_age,
    }
    for key, value in scalars.items():
        if value is not None:
            data[key], _ = value, cli.add(key)
    if ov.arch:
        data["arch"], _ = list(ov.arch), cli.add("arch")
    if ov.formats:
        data["formats"], _ = list(ov.formats), cli.add("formats")
    if ov.overlays:
        data["overlays"] = [*(data.get("overlays") or []), *ov.overlays]
    if ov.classes:
        data["classes"] = [*(data.get("classes") or []), *ov.classes]
    if ov.variables:
        data["variables"] = {**(data.get("variables") or {}), **ov.variables}
    return cli


def load_images(path: Path | None, overrides: Overrides | None = None) -> list[ImageSpec]:
    """Load an image definition; one ImageSpec per requested architecture."""
    overrides = overrides or Overrides()
    if path is None:
        raw = yamlsrc.Doc(Path("<command line>"), {}, {})
        base_dir = Path.cwd()
    else:
        raw = yamlsrc.load(path)
        base_dir = path.resolve().parent
    if not isinstance(raw.data, dict):
        raise raw.error((), "the image definition must be a YAML mapping")
    doc = _CliDoc(raw.path, dict(raw.data), raw.lines)
    doc.cli_keys = _merge(doc.data, overrides)
    return _validate(doc, base_dir, path)


def _required(doc: yamlsrc.Doc, key: str, default: Any = None) -> Any:
    value = doc.data.get(key, default)
    if value is None:
        raise doc.error((), f"'{key}' is missing", hint=f"add '{key}: ...' to the image definition")
    return value


def _validate(doc: yamlsrc.Doc, base_dir: Path, source: Path | None) -> list[ImageSpec]:
    data = doc.data
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise doc.error(
            (unknown[0],), f"unknown key '{unknown[0]}'", hint=f"known keys: {', '.join(sorted(KNOWN_KEYS))}"
        )
    arches = [_enum(doc, "arch", a, Arch) for a in _str_list(doc, "arch", _required(doc, "arch", "amd64"))]
    if not arches:
        raise doc.error(("arch",), "arch must name at least one architecture")
    name = str(data.get("name", "debian-{release}-{vendor}-{arch}"))
    if len(arches) > 1 and "{arch}" not in name:
        raise doc.error(("name",), "several architectures need '{arch}' in the name template")
    base = str(data.get("base", EMBEDDED))
    if base != EMBEDDED:
        base = str(_path(base_dir, base))
    classes = _str_list(doc, "classes", data.get("classes"))
    _check_classes(doc, "classes", classes)
    drops = _str_list(doc, "drop_classes", data.get("drop_classes"))
    _check_classes(doc, "drop_classes", drops)
    size = data.get("size")
    if size is not None and not SIZE_RE.match(str(size)):
        raise doc.error(("size",), f"size '{size}' is not a size", hint="write it like 3G or 2048M")
    formats = tuple(
        _enum(doc, "formats", f, Format) for f in _str_list(doc, "formats", data.get("formats"))
    ) or (Format.raw, Format.qcow2)
    host_ca = data.get("host_ca", True)
    if not isinstance(host_ca, bool):
        raise doc.error(("host_ca",), "host_ca must be true or false")
    apt_max_age = data.get("apt_max_age", 0)
    if not isinstance(apt_max_age, int) or isinstance(apt_max_age, bool) or apt_max_age < 0:
        raise doc.error(
            ("apt_max_age",), f"apt_max_age must be a number of days (0 or more), got {apt_max_age!r}"
        )
    backports = data.get("backports", False)
    if not isinstance(backports, bool):
        raise doc.error(("backports",), "backports must be true or false")
    overlays = []
    for i, entry in enumerate(_str_list(doc, "overlays", data.get("overlays"))):
        p = _path(base_dir, entry)
        if not p.is_dir():
            raise doc.error(
                ("overlays", i),
                f"overlay directory {p} does not exist",
                hint="paths are relative to the image definition's directory",
            )
        overlays.append(p)
    common = dict(
        source=source.resolve() if source else None,
        name_template=name,
        base=base,
        overlays=tuple(overlays),
        release=str(_required(doc, "release", "trixie")),
        vendor=_enum(doc, "vendor", _required(doc, "vendor", "genericcloud"), Vendor),
        type=_enum(doc, "type", data.get("type", "official"), BuildType),
        classes=tuple(classes),
        drop_classes=tuple(drops),
        size=str(size) if size else None,
        formats=formats,
        variables=_variables(doc, data.get("variables")),
        version=str(data.get("version", os.environ.get("CI_PIPELINE_IID", "1"))),
        build_id=str(data.get("build_id", "fai-overlay")),
        mirror=_url(doc, "mirror", data.get("mirror")),
        security_mirror=_url(doc, "security_mirror", data.get("security_mirror")),
        apt_proxy=_url(doc, "apt_proxy", data.get("apt_proxy")),
        host_ca=host_ca,
        apt_max_age=apt_max_age,
        waivers=_waivers(doc, data.get("waive_tests")),
        backports=backports,
    )
    specs = [ImageSpec(arch=a, **common) for a in arches]  # type: ignore[arg-type]
    for spec in specs:
        _ = spec.name  # validate the template now, not halfway through a build
    return specs


def with_arch(spec: ImageSpec, arch: Arch) -> ImageSpec:
    return replace(spec, arch=arch)
