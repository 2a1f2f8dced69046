"""YAML loading that remembers where every value came from, and refuses hostile files.

Errors in a user's YAML must name the file and the line. PyYAML's composer
keeps marks on nodes; we build plain Python data and a side table of lines.
Files are small and plain: a size limit, no anchors or aliases (an alias
bomb would expand without bound), a nesting limit, and UTF-8 only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from overlay.core.errors import OverlayError

Key = tuple[str | int, ...]
MAX_BYTES = 1 << 20  # an image definition or overlay.yaml is a few KiB
MAX_DEPTH = 32
PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class Doc:
    """Parsed YAML plus the line of each value, keyed by its path of keys."""

    path: Path
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)

    def line(self, *key: str | int) -> int | None:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def error(self, key: Key, message: str, hint: str | None = None) -> OverlayError:
        return OverlayError(message, hint=hint, path=self.path, line=self.line(*key))


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """A small UTF-8 text file; every failure is an OverlayError naming the file."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise OverlayError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise OverlayError("is a directory, expected a YAML file", path=path) from None
    except OSError as exc:
        raise OverlayError(f"cannot read: {exc.strerror}", path=path) from None
    if len(raw) > limit:
        raise OverlayError(f"larger than {limit >> 10} KiB", path=path, hint="is this the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OverlayError("not UTF-8 text", path=path, line=line, hint="save the file as UTF-8") from None


def load(path: Path, *, text: str | None = None) -> Doc:
    """Load a YAML file; a syntax error becomes an OverlayError with its line."""
    text = read_text(path) if text is None else text
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise OverlayError(
            f"invalid YAML: {exc.problem}", path=path, line=line, hint="check indentation and quoting"
        ) from None
    except yaml.YAMLError as exc:
        raise OverlayError(f"invalid YAML: {exc}", path=path) from None
    except RecursionError:
        raise OverlayError("YAML nested too deeply", path=path) from None
    lines: dict[Key, int] = {}
    if node is None:
        return Doc(path, {}, {(): 1})
    data = _convert(node, (), lines, path, set())
    return Doc(path, data, lines)


def _convert(node: yaml.Node, key: Key, lines: dict[Key, int], path: Path, seen: set[int]) -> Any:
    line = node.start_mark.line + 1
    if id(node) in seen:  # a node reached twice is an alias of an anchor
        raise OverlayError(
            "YAML anchors and aliases are not supported", path=path, line=line, hint="write the value out"
        )
    if len(key) > MAX_DEPTH:
        raise OverlayError(f"YAML nested more than {MAX_DEPTH} levels deep", path=path, line=line)
    lines.setdefault(key, line)
    if isinstance(node, yaml.CollectionNode) and node.tag not in PLAIN_TAGS:
        raise OverlayError(
            f"YAML tag {node.tag} is not supported", path=path, line=line, hint="remove the tag"
        )
    if isinstance(node, yaml.MappingNode):
        seen.add(id(node))
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise OverlayError(
                    "mapping keys must be plain names", path=path, line=knode.start_mark.line + 1
                )
            name = str(_scalar(knode))
            if name in out:
                raise OverlayError(
                    f"key '{name}' appears twice",
                    path=path,
                    line=knode.start_mark.line + 1,
                    hint="remove one of them",
                )
            lines[(*key, name)] = knode.start_mark.line + 1
            out[name] = _convert(vnode, (*key, name), lines, path, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        seen.add(id(node))
        return [_convert(item, (*key, i), lines, path, seen) for i, item in enumerate(node.value)]
    seen.add(id(node))
    try:
        return _scalar(node)  # type: ignore[arg-type]
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise OverlayError(f"invalid YAML value: {problem}", path=path, line=line) from None
