"""Loading an image definition: YAML with line numbers and command-line overrides in, ImageSpecs out.

Every check happens here, at load time, so a mistake is reported with the
file and line (or the flag) before anything is composed or built. A path from
the file is relative to the file; a path from the command line is relative to
the current directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from overlay.core import yamlsrc
from overlay.definition import parse
from overlay.definition.fields import At, Cli, Setting
from overlay.definition.spec import ImageSpec, settings

# Command-line values by field key, as the CLI parsed them (see cli/args.py).
Overrides = Mapping[str, Any]
_MISSING = object()


def _from_file(s: Setting, data: Mapping[str, Any], at: At) -> Any:
    value = data.get(s.key, _MISSING)
    if value is _MISSING or value is None:
        return _MISSING
    return s.parse(value, at.sub(s.key))


def _from_cli(s: Setting, overrides: Overrides, cwd: Path) -> Any:
    value = overrides.get(s.key)
    if value is None or (s.cli is not Cli.replace and s.cli is not Cli.toggle and not value):
        return _MISSING
    return s.parse(value, At(cwd, flag=s.flag, key=(s.key,)))


def _combine(s: Setting, from_file: Any, from_cli: Any) -> Any:
    if s.cli is Cli.append and from_file is not _MISSING and from_cli is not _MISSING:
        return (*from_file, *from_cli)
    if s.cli is Cli.merge and from_file is not _MISSING and from_cli is not _MISSING:
        return {**from_file, **from_cli}
    if from_cli is not _MISSING:
        return from_cli
    if from_file is not _MISSING:
        return from_file
    return s.default()


def _unknown_keys(data: Mapping[str, Any], at: At) -> None:
    known = sorted(s.key for s in settings())
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise at.sub(unknown[0]).error(f"unknown key '{unknown[0]}'", hint=f"known keys: {', '.join(known)}")


def resolve(
    data: Mapping[str, Any], at: At, overrides: Overrides | None = None, source: Path | None = None
) -> list[ImageSpec]:
    """Validate `data` (with overrides) and return one ImageSpec per architecture."""
    if not isinstance(data, Mapping):
        raise at.error("the image definition must be a YAML mapping")
    _unknown_keys(data, at)
    values: dict[str, Any] = {}
    for s in settings():
        values[s.attr] = _combine(s, _from_file(s, data, at), _from_cli(s, overrides or {}, Path.cwd()))
    per_image = [s for s in settings() if s.per_image]
    specs = [ImageSpec(**values, source=source, origins=_origins(data, at, overrides or {}))]
    for s in per_image:  # one image per item: replace the tuple by each item
        specs = [replace(spec, **{s.attr: item}) for spec in specs for item in getattr(spec, s.attr)]
    _check_names(specs, at, overrides or {})
    return specs


def _origins(data: Mapping[str, Any], at: At, overrides: Overrides) -> dict[str, str | int]:
    """Per field key: the flag that set it, or the line of the file."""
    out: dict[str, str | int] = {}
    for s in settings():
        if overrides.get(s.key) not in (None, [], {}):
            out[s.key] = s.flag
        elif s.key in data and at.doc is not None and (line := at.doc.line(s.key)) is not None:
            out[s.key] = line
    return out


def _check_names(specs: list[ImageSpec], at: At, overrides: Overrides) -> None:
    name_at = At(Path.cwd(), flag="--name") if overrides.get("name") else at.sub("name")
    if len(specs) > 1 and "{arch}" not in specs[0].name_template:
        raise name_at.error("several architectures need '{arch}' in the name template")
    for spec in specs:
        fields = {
            "release": spec.release,
            "vendor": spec.vendor.value,
            "arch": spec.arch.name,
            "type": spec.type.value,
            "version": spec.version,
            "date": spec.date,
            "build_id": spec.build_id,
            **spec.variables,
        }
        parse.check_name(spec.name_template, fields, name_at)


def load_images(path: Path | None, overrides: Overrides | None = None) -> list[ImageSpec]:
    """Load an image definition file (or none: flags only); one ImageSpec per architecture."""
    if path is None:
        doc = yamlsrc.Doc(Path("<command line>"), {}, {})
        return resolve({}, At(Path.cwd(), doc=doc), overrides)
    doc = yamlsrc.load(path)
    at = At(path.resolve().parent, doc=doc)
    return resolve(doc.data, at, overrides, source=path.resolve())


def from_json(data: Any, label: str = "image", overrides: Overrides | None = None) -> ImageSpec:
    """The `image` section of a build manifest, validated like a definition.

    Paths are already absolute and may name directories of another host, so
    they are not required to exist here.
    """
    at = At(Path("/"), label=label, strict=False)
    if not isinstance(data, Mapping):
        raise at.error("expected a mapping")
    fields = {k: v for k, v in data.items() if k != "source"}
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        raise At(Path("/"), label=label, key=("source",)).error("expected a string or null")
    specs = resolve(fields, at, overrides, source=Path(source) if source else None)
    if len(specs) != 1:
        raise at.sub("arch").error("a manifest describes one image: expected one architecture")
    return specs[0]
