"""Loading an image definition file: YAML with line numbers in, ImageSpecs out.

Every check happens here, at load time, so a mistake is reported with the
file and line before anything is composed or built.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import Any

from overlay import yamlsrc
from overlay.config import (
    CLASS_RE,
    EMBEDDED,
    RESERVED_VARS,
    SIZE_RE,
    VAR_RE,
    Arch,
    BuildType,
    Format,
    ImageSpec,
    Overrides,
    Vendor,
    Waiver,
)
from overlay.errors import OverlayError

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


def _path(doc: yamlsrc.Doc, key: yamlsrc.Key, base_dir: Path, value: str) -> Path:
    """Relative to the definition's directory; ~ and $VARIABLES are expanded."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    if "$" in expanded:
        missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
        raise doc.error(
            key,
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
    arches, name = _arches_and_name(doc)
    base = str(data.get("base", EMBEDDED))
    if base != EMBEDDED:
        base = str(_path(doc, ("base",), base_dir, base))
    classes = _str_list(doc, "classes", data.get("classes"))
    _check_classes(doc, "classes", classes)
    drops = _str_list(doc, "drop_classes", data.get("drop_classes"))
    _check_classes(doc, "drop_classes", drops)
    common = dict(
        source=source.resolve() if source else None,
        name_template=name,
        base=base,
        overlays=_overlays(doc, base_dir),
        release=str(_required(doc, "release", "trixie")),
        vendor=_enum(doc, "vendor", _required(doc, "vendor", "genericcloud"), Vendor),
        type=_enum(doc, "type", data.get("type", "official"), BuildType),
        classes=tuple(classes),
        drop_classes=tuple(drops),
        variables=_variables(doc, data.get("variables")),
        version=str(data.get("version", os.environ.get("CI_PIPELINE_IID", "1"))),
        build_id=str(data.get("build_id", "fai-overlay")),
        mirror=_url(doc, "mirror", data.get("mirror")),
        security_mirror=_url(doc, "security_mirror", data.get("security_mirror")),
        apt_proxy=_url(doc, "apt_proxy", data.get("apt_proxy")),
        waivers=_waivers(doc, data.get("waive_tests")),
        **_options(doc),
    )
    specs = [ImageSpec(arch=a, **common) for a in arches]  # type: ignore[arg-type]
    for spec in specs:
        _ = spec.name  # validate the template now, not halfway through a build
    return specs


def _arches_and_name(doc: yamlsrc.Doc) -> tuple[list[Arch], str]:
    arches = [_enum(doc, "arch", a, Arch) for a in _str_list(doc, "arch", _required(doc, "arch", "amd64"))]
    if not arches:
        raise doc.error(("arch",), "arch must name at least one architecture")
    name = str(doc.data.get("name", "debian-{release}-{vendor}-{arch}"))
    if len(arches) > 1 and "{arch}" not in name:
        raise doc.error(("name",), "several architectures need '{arch}' in the name template")
    return arches, name


def _options(doc: yamlsrc.Doc) -> dict[str, Any]:
    """size, formats and the build switches."""
    data = doc.data
    size = data.get("size")
    if size is not None and not SIZE_RE.match(str(size)):
        raise doc.error(("size",), f"size '{size}' is not a size", hint="write it like 3G or 2048M")
    formats = tuple(
        _enum(doc, "formats", f, Format) for f in _str_list(doc, "formats", data.get("formats"))
    ) or (Format.raw, Format.qcow2)
    for key in ("host_ca", "backports"):
        if not isinstance(data.get(key, False), bool):
            raise doc.error((key,), f"{key} must be true or false")
    apt_max_age = data.get("apt_max_age", 0)
    if not isinstance(apt_max_age, int) or isinstance(apt_max_age, bool) or apt_max_age < 0:
        raise doc.error(
            ("apt_max_age",), f"apt_max_age must be a number of days (0 or more), got {apt_max_age!r}"
        )
    return {
        "size": str(size) if size else None,
        "formats": formats,
        "host_ca": data.get("host_ca", True),
        "backports": data.get("backports", False),
        "apt_max_age": apt_max_age,
    }


def _overlays(doc: yamlsrc.Doc, base_dir: Path) -> tuple[Path, ...]:
    overlays = []
    for i, entry in enumerate(_str_list(doc, "overlays", doc.data.get("overlays"))):
        p = _path(doc, ("overlays", i), base_dir, entry)
        if not p.is_dir():
            raise doc.error(
                ("overlays", i),
                f"overlay directory {p} does not exist",
                hint="paths are relative to the image definition's directory",
            )
        overlays.append(p)
    return tuple(overlays)
