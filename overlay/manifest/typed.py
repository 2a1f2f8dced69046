"""JSON to frozen dataclasses and back, checked against the type hints.

A value of the wrong shape is an error naming its field path, such as
`packages[3].version: expected a string`. Nothing else reads JSON documents
field by field.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from overlay.core.errors import OverlayError

T = TypeVar("T")
NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
# types read by a function of their own module: (data, field path) -> value; see register()
READERS: dict[type, typing.Callable[[Any, str], Any]] = {}


def register(tp: type[T], reader: typing.Callable[[Any, str], T]) -> None:
    """Read `tp` with `reader` (a type whose validation lives elsewhere, such as an image definition)."""
    READERS[tp] = reader


class ShapeError(OverlayError):
    """A document field of the wrong shape; the caller adds the file."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where or 'the document'}: {message}")
        self.where, self.detail = where, message


def json_key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("json", f.name))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def read(cls: type[T], data: Any, path: str = "") -> T:
    """Build `cls` (a dataclass) from JSON data, checking every field."""
    if not isinstance(data, Mapping):
        raise ShapeError(path, f"expected a mapping, got {_json_type(data)}")
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        key = json_key(f)
        if key not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ShapeError(_join(path, key), "is missing")
        kwargs[f.name] = value(hints[f.name], data[key], _join(path, key))
    return cls(**kwargs)


def _union(tp: Any, data: Any, path: str) -> Any:
    args = get_args(tp)
    if data is None:
        if type(None) in args:
            return None
        raise ShapeError(path, f"expected {_describe(tp)}, got null")
    last: ShapeError | None = None
    for arg in args:
        if arg is type(None):
            continue
        try:
            return value(arg, data, path)
        except ShapeError as exc:
            last = exc
    assert last is not None
    raise last


def _describe(tp: Any) -> str:
    if tp in NAMES:
        return NAMES[tp]
    origin = get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin in (dict, Mapping) or dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _scalar(tp: type, data: Any, path: str) -> Any:
    if tp is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if tp is int and isinstance(data, int) and not isinstance(data, bool):
        return data
    if tp in (str, bool) and isinstance(data, tp):
        return data
    raise ShapeError(path, f"expected {NAMES[tp]}, got {_json_type(data)}")


def _json_type(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "a boolean"
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a mapping"}.get(
        type(data), type(data).__name__
    )


def value(tp: Any, data: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        return _union(tp, data, path)
    if tp in NAMES:
        return _scalar(tp, data, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise ShapeError(path, f"expected one of {', '.join(str(m.value) for m in tp)}") from None
    if tp in READERS:
        return READERS[tp](data, path)
    if origin in (list, tuple):
        if not isinstance(data, list):
            raise ShapeError(path, f"expected a list, got {_json_type(data)}")
        item = get_args(tp)[0]
        items = [value(item, v, _join(path, i)) for i, v in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(data, Mapping):
            raise ShapeError(path, f"expected a mapping, got {_json_type(data)}")
        item = get_args(tp)[1]
        return {str(k): value(item, v, _join(path, str(k))) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return read(tp, data, path)  # type: ignore[arg-type]
    raise TypeError(f"typed.value cannot read {tp!r}")  # a programming error, not bad input


def dump(obj: Any) -> Any:
    """The JSON form of a dataclass tree (the inverse of read)."""
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {json_key(f): dump(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, list | tuple):
        return [dump(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): dump(v) for k, v in obj.items()}
    return obj
