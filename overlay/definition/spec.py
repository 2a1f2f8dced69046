"""ImageSpec: the image definition's fields, each declared once (the field table)."""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import arches
from overlay.core.arches import Arch
from overlay.core.errors import OverlayError
from overlay.core.secrets import redact_url
from overlay.definition import parse
from overlay.definition.fields import At, Cli, Setting, encode, pair, setting, table

EMBEDDED = parse.EMBEDDED
DEFAULT_NAME = "debian-{release}-{vendor}-{arch}"


class Vendor(enum.StrEnum):
    generic = "generic"
    genericcloud = "genericcloud"
    nocloud = "nocloud"


class BuildType(enum.StrEnum):
    dev = "dev"
    official = "official"


class Cache(enum.StrEnum):
    none = "none"
    auto = "auto"  # a private apt-cacher-ng for the build, fetching what it lacks
    offline = "offline"  # the same cache, serving only what it holds: a rebuild that downloads nothing


class Format(enum.StrEnum):
    raw = "raw"
    qcow2 = "qcow2"
    tar_xz = "tar.xz"


@dataclass(frozen=True)
class Waiver:
    test: str
    reason: str


def _formats(value: Any, at: At) -> tuple[Format, ...]:
    out = []
    for i, item in enumerate(parse.str_list(value, at)):
        fmt = parse.enum_of(Format)(item, at.sub(i))
        if fmt in out:
            raise at.sub(i).error(f"format '{item}' is listed twice")
        out.append(fmt)
    if not out:
        raise at.error("formats must name at least one format")
    return tuple(out)


def _waivers(value: Any, at: At) -> tuple[Waiver, ...]:
    if not isinstance(value, list):
        raise at.error("waive_tests must be a list")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"test", "reason"}:
            raise at.sub(i).error(
                "each waiver needs exactly 'test' and 'reason'",
                hint="e.g. {test: test_etc.TestEtc.test_group_name[clock], reason: ...}",
            )
        where = at.sub(i)
        out.append(
            Waiver(
                parse.scalar(item["test"], where.sub("test")),
                parse.scalar(item["reason"], where.sub("reason")),
            )
        )
    return tuple(out)


def _today() -> str:
    return dt.date.today().strftime("%Y%m%d")


def _ci_version() -> str:
    return os.environ.get("CI_PIPELINE_IID") or "1"


def _values(kind: type[enum.Enum]) -> Any:
    return lambda: [str(m.value) for m in kind]


@dataclass(frozen=True)
class ImageSpec:
    """A fully resolved image definition, for one architecture. Paths are absolute."""

    name_template: str = setting(
        "name",
        help="template of the output name. Fields: `release`, `vendor`, `arch`, `type`, `version`, "
        "`date` (YYYYMMDD), `build_id`, and any key of `variables`. Several architectures need "
        "`{arch}` in it.",
        parse=parse.name_template,
        default=DEFAULT_NAME,
        doc_default=f"`{DEFAULT_NAME}`",
        metavar="TEMPLATE",
    )
    description: str | None = setting(
        "description",
        help="a line saying what the image is for; recorded in the manifest",
        parse=parse.scalar,
        metavar="TEXT",
    )
    base: str = setting(
        "base",
        help="`embedded` (the config space in `overlay/base_classes/`), a debian-cloud-images "
        "checkout, or its `config_space/<id>`. `~` and `$VARIABLES` are expanded. See [bases.md](bases.md).",
        parse=parse.base,
        default=EMBEDDED,
        doc_default="`embedded`",
        metavar="BASE",
    )
    overlays: tuple[Path, ...] = setting(
        "overlays",
        help="ordered list of overlay directories, relative to this file (on the command line: to the "
        "current directory). Later overlays have higher priority. See [overlays.md](overlays.md).",
        parse=parse.overlay_dirs,
        default=(),
        doc_default="none",
        cli=Cli.append,
        flag="--overlay",
        metavar="DIR",
    )
    release: str = setting(
        "release",
        help="a release the base knows: `trixie` or `forky` for the embedded base; debian-cloud-images "
        "also knows `bookworm`, `sid`, …",
        parse=parse.scalar,
        default="trixie",
        doc_default="`trixie`",
        content=True,
    )
    vendor: Vendor = setting(
        "vendor",
        help="`genericcloud` has the cloud kernel, `nocloud` no cloud-init",
        parse=parse.enum_of(Vendor),
        default=Vendor.genericcloud,
        doc_default="`genericcloud`",
        choices=_values(Vendor),
        content=True,
    )
    arch: Arch = setting(
        "arch",
        help="an architecture of overlay/data/arches.yaml, or a list of them: one image per architecture",
        parse=parse.arch_list,
        default=parse.default_arch,
        doc_default="the build host's",
        cli=Cli.replace_list,
        choices=arches.names,
        content=True,
        per_image=True,
    )
    type: BuildType = setting(
        "type",
        help="`dev` adds the class TYPE_DEV (root autologin on the serial console — never publish such an "
        "image)",
        parse=parse.enum_of(BuildType),
        default=BuildType.official,
        doc_default="`official`",
        choices=_values(BuildType),
        content=True,
    )
    classes: tuple[str, ...] = setting(
        "classes",
        help="extra FAI classes, placed before LAST, after the overlays' classes",
        parse=parse.classes,
        default=(),
        doc_default="none",
        cli=Cli.append,
        flag="--class",
        metavar="CLASS",
        content=True,
    )
    drop_classes: tuple[str, ...] = setting(
        "drop_classes",
        help="classes to remove from the base's list, with all their combinations (e.g. `EXTRAS`)",
        parse=parse.classes,
        default=(),
        doc_default="none",
        cli=Cli.append,
        flag="--drop-class",
        metavar="CLASS",
        content=True,
    )
    size: str | None = setting(
        "size",
        help="disk size, like `3G` or `2048M`",
        parse=parse.size,
        default=None,
        doc_default="the vendor's (3G)",
        content=True,
    )
    formats: tuple[Format, ...] = setting(
        "formats",
        help="`qcow2` is compressed, `tar.xz` holds `disk.raw`",
        parse=_formats,
        default=(Format.raw, Format.qcow2),
        doc_default="`[raw, qcow2]`",
        cli=Cli.replace_list,
        flag="--format",
        metavar="FORMAT",
        choices=_values(Format),
    )
    variables: Mapping[str, str] = setting(
        "variables",
        help="upper-case names; exported into FAI's environment (so `{%NAME%}` works in fcopy files) "
        "and used to render `*.j2` files",
        parse=parse.variables,
        default=dict,
        doc_default="none",
        cli=Cli.merge,
        flag="--var",
        metavar="NAME=VALUE",
        content=True,
        cli_type=pair("NAME=VALUE"),
    )
    version: str = setting(
        "version",
        help="the build number; `CLOUD_RELEASE_VERSION` is `{version}` for dev and `{date}-{version}` "
        "for official builds, as upstream",
        parse=parse.scalar,
        default=_ci_version,
        doc_default="`$CI_PIPELINE_IID` or `1`",
    )
    build_id: str = setting(
        "build_id",
        help="recorded in `CLOUD_BUILD_INFO`",
        parse=parse.scalar,
        default="fai-overlay",
        doc_default="`fai-overlay`",
    )
    date: str = setting(
        "date",
        help="the build date in the name and `CLOUD_RELEASE_VERSION` (YYYYMMDD)",
        parse=parse.date,
        default=_today,
        doc_default="today",
        metavar="YYYYMMDD",
    )
    mirror: str | None = setting(
        "mirror",
        help="a Debian mirror to build from (`http://…`, `https://…` or `file://…`); the image's own "
        "apt sources are left as the base writes them",
        parse=parse.url,
        metavar="URL",
    )
    security_mirror: str | None = setting(
        "security_mirror",
        help="the same for the security archive",
        parse=parse.url,
        metavar="URL",
    )
    apt_proxy: str | None = setting(
        "apt_proxy",
        help="an HTTP proxy for apt and debootstrap during the build only",
        parse=parse.url,
        metavar="URL",
    )
    cache: Cache = setting(
        "cache",
        help="a package cache for the build: `auto` starts a private apt-cacher-ng that keeps every "
        "package it fetches in `cache_dir`; `offline` serves only what it holds, so the rebuild downloads "
        "nothing. With `apt_proxy`, the cache fetches through that proxy",
        parse=parse.enum_of(Cache),
        default=Cache.none,
        doc_default="`none`",
        choices=_values(Cache),
    )
    cache_dir: Path = setting(
        "cache_dir",
        help="where the package cache keeps its files between builds",
        parse=parse.directory,
        default=lambda: Path("/var/cache/fai-overlay/apt"),
        doc_default="`/var/cache/fai-overlay/apt`",
        metavar="DIR",
    )
    host_ca: bool = setting(
        "host_ca",
        help="let apt in the build chroot trust the CAs the build host trusts, e.g. an intercepting "
        "proxy's; nothing of it lands in the image",
        parse=parse.boolean,
        default=True,
        doc_default="`true`",
        cli=Cli.toggle,
    )
    apt_max_age: int = setting(
        "apt_max_age",
        help="accept Release files up to this many days past their `Valid-Until` during the build (a "
        "mirror that lags); 0 keeps apt's check. Recorded in the manifest's `checks.stale_release_files`",
        parse=parse.days,
        default=0,
        doc_default="`0`",
        metavar="DAYS",
        cli_type=int,
    )
    backports: bool = setting(
        "backports",
        help="the image enables a backports suite on purpose, so the verification does not flag it",
        parse=parse.boolean,
        default=False,
        doc_default="`false`",
        cli=Cli.toggle,
        content=True,
    )
    waivers: tuple[Waiver, ...] = setting(
        "waive_tests",
        help="list of `{test: …, reason: …}`: in-build tests of the base (debian-cloud-images' "
        "`tests.BUILD_IMAGE`) whose failure does not fail the build. Waivers are recorded in the manifest. "
        "On the command line: `--waive-test TEST=REASON`",
        parse=_waivers,
        default=(),
        doc_default="none",
        cli=Cli.append,
        flag="--waive-test",
        metavar="TEST=REASON",
        cli_type=pair("TEST=REASON", ("test", "reason")),
    )
    # Not fields of the definition: the file it was loaded from, if any, and where each value came
    # from ("--flag", or the line in that file), so later stages can point at it.
    source: Path | None = field(default=None)
    origins: Mapping[str, str | int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The output name: the template with this image's fields filled in."""
        fields = {
            "release": self.release,
            "vendor": self.vendor.value,
            "arch": self.arch.name,
            "type": self.type.value,
            "version": self.version,
            "date": self.date,
            "build_id": self.build_id,
            **self.variables,
        }
        at = At(Path("/"), flag="--name") if self.source is None else At(Path("/"), label="name")
        return parse.check_name(self.name_template, fields, at)

    def error(self, key: str, message: str, hint: str | None = None) -> OverlayError:
        """An error about field `key`, naming the flag or the definition's file and line it came from."""
        origin = self.origins.get(key)
        if isinstance(origin, str):
            return OverlayError(f"{origin}: {message}", hint=hint)
        return OverlayError(message, hint=hint, path=self.source, line=origin)

    @property
    def release_version(self) -> str:
        """CLOUD_RELEASE_VERSION the way debian-cloud-images computes it."""
        return self.version if self.type is BuildType.dev else f"{self.date}-{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The manifest's `image` section: every field under its key, plus the definition's path.

        Credentials in URLs (a proxy's password) are masked: a manifest is published.
        """
        data = {s.key: _masked(encode(getattr(self, s.attr))) for s in settings()}
        data["source"] = str(self.source) if self.source else None
        return data

    def content(self) -> dict[str, Any]:
        """The fields that change the image's content (what `diff` compares)."""
        return {s.key: encode(getattr(self, s.attr)) for s in settings() if s.content}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def settings() -> list[Setting]:
    """The field table, in declaration order."""
    return table(ImageSpec)
