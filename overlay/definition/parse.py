"""Parsers of the field table: a raw value (YAML, flag or manifest) in, a typed value out.

Each takes the raw value and where it came from (`At`), and raises the error
that names the file and line, or the flag, when the value is wrong.
"""

from __future__ import annotations

import enum
import os
import re
import string
from pathlib import Path
from typing import Any, TypeVar

from overlay.core import arches
from overlay.core.arches import Arch
from overlay.definition import names
from overlay.definition.fields import At

E = TypeVar("E", bound=enum.Enum)
EMBEDDED = "embedded"
URL_RE = re.compile(r"^(https?|file)://\S+$")
DATE_RE = re.compile(r"^\d{8}$")


def scalar(value: Any, at: At) -> str:
    """A string; numbers are accepted and kept as written (version: 2)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise at.error(f"{at.where() or 'value'} must be a string, got {type(value).__name__}")
    text = str(value)
    if not text or "\n" in text:
        raise at.error(f"{at.where() or 'value'} must be a non-empty single line")
    return text


def enum_of(kind: type[E]) -> Any:
    def parse(value: Any, at: At) -> E:
        text = scalar(value, at)
        try:
            return kind(text)
        except ValueError:
            choices = ", ".join(str(m.value) for m in kind)
            raise at.error(f"{at.where()} '{text}' is not one of: {choices}") from None

    return parse


def str_list(value: Any, at: At) -> list[str]:
    """A list of strings; a single string counts as a list of one."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise at.error(f"{at.where()} must be a list of strings")
    return [scalar(v, at.sub(i)) for i, v in enumerate(value)]


def arch_list(value: Any, at: At) -> tuple[Arch, ...]:
    out: list[Arch] = []
    for i, name in enumerate(str_list(value, at)):
        where = at if isinstance(value, str) else at.sub(i)
        if name not in arches.table():
            raise where.error(f"arch '{name}' is not one of: {', '.join(arches.names())}")
        if arches.get(name) in out:
            raise where.error(f"arch '{name}' is listed twice")
        out.append(arches.get(name))
    if not out:
        raise at.error("arch must name at least one architecture")
    return tuple(out)


def default_arch() -> tuple[Arch, ...]:
    """The build host's architecture (native builds are fastest), else the table's first."""
    return (arches.host() or next(iter(arches.table().values())),)


def classes(value: Any, at: At) -> tuple[str, ...]:
    items = str_list(value, at)
    for i, name in enumerate(items):
        if not names.valid_class(name):
            raise at.sub(i).error(f"class name '{name}' is invalid", hint=names.CLASS_HINT)
    return tuple(items)


MAX_NAME = 200  # leaves room for suffixes such as .build.failed.json within a 255-byte file name
SPEC_RE = re.compile(r"^(?:.?[<>^])?\d{1,2}$")  # a fill and width of at most 99, nothing else


def name_template(value: Any, at: At) -> str:
    """A format string of known shape: plain field names, small widths, bounded length."""
    text = scalar(value, at)
    if len(text) > MAX_NAME:
        raise at.error(f"name template is longer than {MAX_NAME} characters")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise at.error(
            f"name template '{text}' is not valid: {exc}", hint="fields look like {arch}"
        ) from None
    for _, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_name) or conversion:
            raise at.error(f"name template field '{{{field_name}}}' must be a plain field name")
        if spec and not SPEC_RE.match(spec):
            raise at.error(
                f"name template field '{{{field_name}:{spec}}}' has a format it does not allow",
                hint="at most a fill and a width under 100, like {version:0>3}",
            )
    return text


def expand_path(value: str, at: At) -> Path:
    """Relative to where the value came from; ~ and $VARIABLES are expanded."""
    if "\0" in value:
        raise at.error("path contains a NUL character", hint="write the path out")
    expanded = os.path.expandvars(os.path.expanduser(value))
    if "$" in expanded:
        missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
        raise at.error(
            f"path '{value}' uses ${missing[0] if missing else '?'}, which is not set",
            hint="export the variable, or write the path out",
        )
    return (at.base_dir / expanded).resolve()


def base(value: Any, at: At) -> str:
    text = scalar(value, at)
    return text if text == EMBEDDED else str(expand_path(text, at))


def directory(value: Any, at: At) -> Path:
    """A directory to write to; relative to where the value came from. It may not exist yet."""
    path = expand_path(scalar(value, at), at)
    if at.strict and path.exists() and not path.is_dir():
        raise at.error(f"{path} is not a directory")
    return path


def overlay_dirs(value: Any, at: At) -> tuple[Path, ...]:
    out = []
    for i, entry in enumerate(str_list(value, at)):
        path = expand_path(entry, at.sub(i))
        if at.strict and not path.is_dir():
            where = "the current directory" if at.flag else "the image definition's directory"
            raise at.sub(i).error(
                f"overlay directory {path} does not exist", hint=f"relative paths start from {where}"
            )
        out.append(path)
    return tuple(out)


MIN_SIZE_MIB, MAX_SIZE_MIB = 1024, 2 << 20  # smaller does not hold a Debian system; larger is a typo


def size(value: Any, at: At) -> str | None:
    text = scalar(value, at)
    if not names.SIZE_RE.match(text):
        raise at.error(f"size '{text}' is not a size", hint="write it like 3G or 2048M")
    mib = int(text[:-1]) * (1024 if text.endswith("G") else 1)
    if not MIN_SIZE_MIB <= mib <= MAX_SIZE_MIB:
        raise at.error(
            f"size {text} is {'too small for a Debian image' if mib < MIN_SIZE_MIB else 'absurd'}",
            hint="between 1G and 2048G",
        )
    return text


def variables(value: Any, at: At) -> dict[str, str]:
    if not isinstance(value, dict):
        raise at.error("variables must be a mapping of NAME: value")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not names.valid_variable(key):
            raise at.sub(str(key)).error(f"variable name '{key}' is not allowed", hint=names.VAR_HINT)
        if isinstance(item, dict | list) or item is None:
            raise at.sub(key).error(f"variable {key} must be a string, number or boolean")
        out[key] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


def url(value: Any, at: At) -> str:
    text = scalar(value, at)
    if not URL_RE.match(text):
        raise at.error(f"{at.where()} must be an http://, https:// or file:// URL, got '{text}'")
    return text.rstrip("/")


def boolean(value: Any, at: At) -> bool:
    if not isinstance(value, bool):
        raise at.error(f"{at.where()} must be true or false")
    return value


def days(value: Any, at: At) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise at.error(f"{at.where()} must be a number of days (0 or more), got {value!r}")
    return value


def date(value: Any, at: At) -> str:
    text = scalar(value, at)
    if not DATE_RE.match(text):
        raise at.error(f"date '{text}' is not YYYYMMDD")
    return text


def check_name(template: str, fields: dict[str, str], at: At) -> str:
    """Render the name template; the result must be a safe file name."""
    try:
        name = template.format(**fields)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise at.error(
            f"name template '{template}' uses unknown field {exc}",
            hint="fields: release, vendor, arch, type, version, date, build_id, or a key of variables",
        ) from None
    if not names.valid_image_name(name):
        raise at.error(f"image name '{name}' is not a safe file name", hint=names.IMAGE_NAME_HINT)
    if len(name) > MAX_NAME:
        raise at.error(f"image name is longer than {MAX_NAME} characters")
    return name
