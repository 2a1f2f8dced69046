"""YAML loading that remembers where every value came from.

Errors in a user's YAML must name the file and the line. PyYAML's composer
keeps marks on nodes; we build plain Python data and a side table of lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from overlay.core.errors import OverlayError

Key = tuple[str | int, ...]


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


def load(path: Path, *, text: str | None = None) -> Doc:
    """Load a YAML file; a syntax error becomes an OverlayError with its line."""
    try:
        text = path.read_text() if text is None else text
    except FileNotFoundError:
        raise OverlayError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise OverlayError("is a directory, expected a YAML file", path=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise OverlayError(
            f"invalid YAML: {exc.problem}", path=path, line=line, hint="check indentation and quoting"
        ) from None
    lines: dict[Key, int] = {}
    if node is None:
        return Doc(path, {}, {(): 1})
    data = _convert(node, (), lines, path)
    return Doc(path, data, lines)


def _convert(node: yaml.Node, key: Key, lines: dict[Key, int], path: Path) -> Any:
    lines.setdefault(key, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
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
            out[name] = _convert(vnode, (*key, name), lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*key, i), lines, path) for i, item in enumerate(node.value)]
    return _scalar(node)  # type: ignore[arg-type]
