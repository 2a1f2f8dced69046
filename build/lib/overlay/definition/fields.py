"""The machinery of the field table: what one field declares, and where a raw value came from.

A field of `ImageSpec` is declared with `setting(...)`: its key (in YAML, on
the command line and in the manifest), help text, parser, default, how its
flag combines with the file, and whether it changes the image's content. The
table itself is `spec.ImageSpec`; `spec.settings()` lists it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.core import yamlsrc
from overlay.core.arches import Arch
from overlay.core.errors import OverlayError


class Cli(enum.Enum):
    """How a field's command-line flag combines with the definition file."""

    replace = "replace"  # --release X replaces the file's value
    replace_list = "replace_list"  # --arch A --arch B replaces the file's list
    append = "append"  # --overlay DIR adds to the file's list
    merge = "merge"  # --var NAME=VALUE adds to or replaces keys of the file's mapping
    toggle = "toggle"  # --host-ca / --no-host-ca


@dataclass(frozen=True)
class At:
    """Where a raw value came from, for errors: a key of a YAML file, a flag, or a manifest field.

    Paths in a value are relative to `base_dir`: the definition's directory for
    values from the file, the current directory for values from the command line.
    """

    base_dir: Path
    doc: yamlsrc.Doc | None = None
    key: yamlsrc.Key = ()
    flag: str | None = None
    label: str | None = None  # a manifest: "image" (its fields are reported as image.<key>)
    strict: bool = True  # paths must exist (definitions); manifests name paths of another host

    def sub(self, part: str | int) -> At:
        return dataclasses.replace(self, key=(*self.key, part))

    def where(self) -> str:
        parts = [str(p) if isinstance(p, str) else f"[{p}]" for p in self.key]
        return ".".join(parts).replace(".[", "[")

    def error(self, message: str, hint: str | None = None) -> OverlayError:
        if self.flag is not None:
            return OverlayError(f"{self.flag}: {message}", hint=hint)
        if self.doc is not None:
            return self.doc.error(self.key, message, hint)
        prefix = f"{self.label}.{self.where()}" if self.label else self.where()
        return OverlayError(f"{prefix}: {message}", hint=hint)


Parser = Callable[[Any, At], Any]


@dataclass(frozen=True)
class Setting:
    key: str  # the YAML key, and the manifest key under "image"
    attr: str  # the ImageSpec attribute
    help: str
    parse: Parser
    default: Callable[[], Any]  # the parsed value when neither file nor flag gives one
    doc_default: str  # how the docs and --help show the default
    cli: Cli
    flag: str
    metavar: str | None
    choices: Callable[[], list[str]] | None
    content: bool  # a change means a different image (diff, publish)
    per_image: bool  # a list here means one image per item (arch)
    cli_type: Callable[[str], Any] | None  # a flag's text to the file's shape (int, NAME=VALUE pairs)

    @property
    def dest(self) -> str:
        """The argparse destination: prefixed, so no field clashes with a verb's own options."""
        return f"field_{self.key}"


def setting(
    key: str,
    *,
    help: str,
    parse: Parser,
    default: Any = None,
    doc_default: str | None = None,
    cli: Cli = Cli.replace,
    flag: str | None = None,
    metavar: str | None = None,
    choices: Callable[[], list[str]] | None = None,
    content: bool = False,
    per_image: bool = False,
    cli_type: Callable[[str], Any] | None = None,
) -> Any:
    """Declare one field of the image definition (use as the default of an ImageSpec attribute)."""
    factory = default if callable(default) else (lambda: default)
    meta = {
        "key": key,
        "help": help,
        "parse": parse,
        "default": factory,
        "doc_default": doc_default
        if doc_default is not None
        else ("none" if default is None else str(default)),
        "cli": cli,
        "flag": flag or f"--{key.replace('_', '-')}",
        "metavar": metavar,
        "choices": choices,
        "content": content,
        "per_image": per_image,
        "cli_type": cli_type,
    }
    return dataclasses.field(metadata={"setting": meta})


def pair(what: str, keys: tuple[str, str] | None = None) -> Callable[[str], Any]:
    """A flag value NAME=VALUE: a (name, value) pair, or a mapping with `keys`."""

    def convert(text: str) -> Any:
        if "=" not in text:
            raise ValueError(f"expected {what}, got '{text}'")
        first, _, second = text.partition("=")
        return dict(zip(keys, (first, second), strict=True)) if keys else (first, second)

    convert.__name__ = what  # argparse names the type in its error message
    return convert


def table(cls: type) -> list[Setting]:
    """The settings declared on a dataclass, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("setting")
        if meta is not None:
            out.append(Setting(attr=f.name, **meta))
    return out


def encode(value: Any) -> Any:
    """A field's value as JSON: enums by value, architectures by name, paths as strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Arch):
            return value.name
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value
