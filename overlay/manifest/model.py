"""The shape of <name>.build.json (and .build.failed.json): one typed model, its writer and reader.

`load()` is the only way any verb reads a manifest: diff, check-updates,
sources, publish, test, boot and build --from-manifest. A wrong shape is an
error (exit 2) naming the field path, e.g. `packages[3].version: expected a
string`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debian.debian_support import Version

from overlay.core.errors import OverlayError
from overlay.definition import names
from overlay.definition.load import from_json as image_from_json
from overlay.definition.spec import ImageSpec
from overlay.manifest import typed

# a manifest's `image` section is validated like a definition (paths need not exist on this host)
typed.register(ImageSpec, lambda data, path: image_from_json(data, label=path))

API_VERSION = "fai-overlay.debian.org/v1"
MANIFEST_VERSION = 1
KIND = "Build"
MAX_BYTES = 16 << 20  # a manifest of a few thousand packages is a few MiB


@dataclass(frozen=True)
class GitInfo:
    repository: str
    commit: str | None
    dirty: bool


@dataclass(frozen=True)
class LayerRecord:
    name: str
    kind: str  # base, overlay, internal
    path: str
    digest: str  # sha256 over the layer's config-space files (path, mode, content)
    version: str | None = None  # the internal layer: fai-overlay's version
    git: GitInfo | None = None


@dataclass(frozen=True)
class BaseRecord:
    kind: str
    config_space: str
    checkout: str | None = None


@dataclass(frozen=True)
class FaiRecord:
    version: str
    argv: list[str]
    env: dict[str, str]
    log_dir: str | None = None
    task_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildInfo:
    started: str
    finished: str
    seconds: float
    host: str
    fai_overlay_version: str
    ci: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Excuse:
    name: str
    exit_code: int
    reason: str


@dataclass(frozen=True)
class WaivedTest:
    test: str
    waiver: str
    reason: str


@dataclass(frozen=True)
class EspFill:
    filled: bool
    files: list[str]
    offset: int


@dataclass(frozen=True)
class CacheUse:
    """What the package cache did during the build (cache: auto or offline)."""

    mode: str
    served_files: int
    fetched_files: int  # from the mirror: 0 means the build downloaded nothing
    fetched_bytes: int
    fetched_packages: int
    fetched_indices: int  # InRelease/Release, which the cache revalidates on every use


@dataclass(frozen=True)
class Checks:
    excused_fai_failures: list[Excuse] = field(default_factory=list)
    waived_tests: list[WaivedTest] = field(default_factory=list)
    in_build_tests: dict[str, int] = field(default_factory=dict)
    esp_filled_by_fai_overlay: EspFill | None = None
    stale_release_files: list[dict[str, str]] = field(default_factory=list)
    package_cache: CacheUse | None = None


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    architecture: str
    source: str
    source_version: str
    suites: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    not_stable: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.architecture


@dataclass(frozen=True)
class SourcePackage:
    name: str
    version: str


@dataclass(frozen=True)
class OutputFile:
    file: str
    format: str
    size: int
    allocated: int
    sha512: str


@dataclass(frozen=True)
class BuildManifest:
    name: str
    image: ImageSpec
    base: BaseRecord
    classes: list[str]
    layers: list[LayerRecord]
    fai: FaiRecord
    build: BuildInfo
    checks: Checks
    packages: list[Package]
    source_packages: list[SourcePackage]
    outputs: list[OutputFile]
    api_version: str = field(default=API_VERSION, metadata={"json": "apiVersion"})
    kind: str = KIND
    manifest_version: int = MANIFEST_VERSION

    def package_names(self) -> set[str]:
        return {p.name for p in self.packages}

    def overlay_dirs(self) -> list[Path]:
        return [Path(la.path) for la in self.layers if la.kind == "overlay"]

    def output(self, fmt: str) -> OutputFile | None:
        return next((o for o in self.outputs if o.format == fmt), None)


@dataclass(frozen=True)
class FailedBuild:
    """<name>.build.failed.json: why a build failed, and where its log is."""

    name: str
    started: str
    finished: str
    reasons: list[str]
    log: str


PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")  # Debian policy 5.6.1
ARCH_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LAYER_KINDS = ("base", "overlay", "internal")


def _check_version(where: str, version: str) -> None:
    try:
        Version(version)
    except ValueError:
        raise typed.ShapeError(where, f"'{version}' is not a Debian version") from None


def _check_packages(m: BuildManifest) -> None:
    for i, p in enumerate(m.packages):
        for key, value, rule, what in (
            ("name", p.name, PACKAGE_RE, "package name"),
            ("source", p.source, PACKAGE_RE, "source package name"),
            ("architecture", p.architecture, ARCH_RE, "architecture"),
        ):
            if not rule.match(value):
                raise typed.ShapeError(f"packages[{i}].{key}", f"'{value}' is not a Debian {what}")
        _check_version(f"packages[{i}].version", p.version)
        _check_version(f"packages[{i}].source_version", p.source_version)
    for i, src in enumerate(m.source_packages):
        if not PACKAGE_RE.match(src.name):
            raise typed.ShapeError(
                f"source_packages[{i}].name", f"'{src.name}' is not a Debian source package name"
            )
        _check_version(f"source_packages[{i}].version", src.version)


def _check(m: BuildManifest) -> None:
    """Meaning checks: names that become file names are plain; packages have Debian names and versions."""
    if not names.valid_image_name(m.name):
        raise typed.ShapeError("name", f"'{m.name}' is not a safe image name ({names.IMAGE_NAME_HINT})")
    for i, out in enumerate(m.outputs):
        if not names.valid_image_name(out.file):
            raise typed.ShapeError(f"outputs[{i}].file", f"'{out.file}' is not a plain file name")
    for i, layer in enumerate(m.layers):
        if layer.kind not in LAYER_KINDS:
            raise typed.ShapeError(
                f"layers[{i}].kind", f"'{layer.kind}' is not one of {', '.join(LAYER_KINDS)}"
            )
    _check_packages(m)


def parse(data: Any, where: Path | str) -> BuildManifest:
    """A manifest from JSON data already loaded (e.g. a published copy)."""
    if not isinstance(data, Mapping) or data.get("kind") != KIND or data.get("apiVersion") != API_VERSION:
        raise OverlayError(
            "not a fai-overlay build manifest",
            path=where,
            hint="pass the <name>.build.json written by 'fai-overlay build'",
        )
    try:
        manifest = typed.read(BuildManifest, data)
        _check(manifest)
    except OverlayError as exc:
        raise OverlayError(exc.message, path=where, hint=exc.hint or "the manifest is damaged") from None
    return manifest


def read_json(path: Path, limit: int = MAX_BYTES) -> Any:
    """A JSON file, bounded in size; every failure is an OverlayError naming the file."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise OverlayError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise OverlayError("is a directory, expected a JSON file", path=path) from None
    except OSError as exc:
        raise OverlayError(f"cannot read: {exc.strerror}", path=path) from None
    if len(raw) > limit:
        raise OverlayError(f"larger than {limit >> 20} MiB", path=path, hint="is this a manifest?")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise OverlayError("not UTF-8 text", path=path, hint="is this a manifest?") from None
    except json.JSONDecodeError as exc:
        raise OverlayError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise OverlayError("JSON nested too deeply", path=path) from None


def load(path: Path) -> BuildManifest:
    return parse(read_json(path), path)


def write(path: Path, document: BuildManifest | FailedBuild | Mapping[str, Any]) -> None:
    """Write JSON atomically (temporary file, then rename): readers never see half a file."""
    data = typed.dump(document)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
