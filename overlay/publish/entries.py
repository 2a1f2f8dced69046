"""Typed entries of a Debian archive, read with python-debian's debian.deb822.

One reader per kind of archive file: a Release file (already verified, see
trust.py), Packages and Sources indices, and .dsc files. Each returns frozen
dataclasses or raises one OverlayError (exit 1) naming the file, the entry and
the field, e.g. `…/Sources.xz: jq 1.7.1-6: Checksums-Sha256[0].name: '../x'
is a path, not a plain file name`. A file name taken from the archive is a
plain base name (overlay.core.paths.plain_name) and a Directory a relative
path of plain names, so neither can point outside the output directory or the
archive.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from debian import deb822
from debian.debian_support import Version

from overlay.core import paths
from overlay.core.errors import ExitCode, OverlayError

HINT = "the mirror serves a damaged or hostile file; try again later or another --mirror"
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class FileRef:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ReleaseInfo:
    suite: str
    codename: str
    components: tuple[str, ...]
    date: dt.datetime | None
    valid_until: dt.datetime | None
    sha256: dict[str, FileRef]


@dataclass(frozen=True)
class BinaryEntry:
    name: str
    version: str
    architecture: str


@dataclass(frozen=True)
class SourceRecord:
    name: str
    version: str
    directory: str
    files: tuple[FileRef, ...]


@dataclass(frozen=True)
class DscInfo:
    source: str
    version: str
    files: tuple[FileRef, ...]


def bad(where: str, field: str, problem: str) -> OverlayError:
    return OverlayError(f"{where}: {field}: {problem}", hint=HINT, code=ExitCode.FAILED)


def _text(data: bytes) -> str:
    # Debian's indices are UTF-8; a stray byte must not stop the reader (names are checked below)
    return data.decode("utf-8", errors="replace")


def _string(para: Any, key: str, where: str) -> str:
    value = para.get(key)
    if value is None:
        raise bad(where, key, "missing")
    if not isinstance(value, str) or not value.strip():
        raise bad(where, key, "expected a non-empty value")
    return value.strip()


def _version(para: Any, where: str) -> str:
    text = _string(para, "Version", where)
    try:
        Version(text)
    except ValueError:
        raise bad(where, "Version", f"{text!r} is not a Debian version") from None
    return text


def _date(para: Any, key: str, where: str) -> dt.datetime | None:
    text = para.get(key)
    if text is None:
        return None
    try:
        value = parsedate_to_datetime(str(text))
    except (TypeError, ValueError):
        raise bad(where, key, f"{text!r} is not a date") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def file_ref(item: Any, field: str, where: str, *, plain: bool = True) -> FileRef:
    """One entry of a checksum list ('sha256 size name'), as python-debian parsed it."""
    if not isinstance(item, Mapping) or set(item.keys()) != {"sha256", "size", "name"}:
        raise bad(where, field, "expected a line 'sha256 size name'")
    digest, size, name = item["sha256"], item["size"], item["name"]
    if not SHA256.fullmatch(digest):
        raise bad(where, f"{field}.sha256", f"{digest[:80]!r} is not a sha256")
    if not size.isdigit():
        raise bad(where, f"{field}.size", f"{size[:80]!r} is not a size")
    if any(c.isspace() for c in name):
        raise bad(where, f"{field}.name", f"{name[:80]!r} contains white space")
    if plain:
        try:
            paths.plain_name(name, f"{field}.name")
        except OverlayError as exc:
            raise OverlayError(f"{where}: {exc.message}", hint=HINT, code=ExitCode.FAILED) from None
    return FileRef(name, int(size), digest)


def file_list(para: Any, key: str, where: str, *, plain: bool = True) -> tuple[FileRef, ...]:
    value = para.get(key)
    if value is None:
        raise bad(where, key, "missing")
    if isinstance(value, Mapping):  # python-debian gives a mapping for a one-line field
        value = [value]
    if not isinstance(value, list):
        raise bad(where, key, "expected lines of 'sha256 size name'")
    return tuple(file_ref(item, f"{key}[{i}]", where, plain=plain) for i, item in enumerate(value))


def relative_dir(text: str, where: str, field: str = "Directory") -> str:
    """A directory inside the archive: relative, each part a plain name (no '..', not absolute)."""
    parts = text.split("/")
    for i, part in enumerate(parts):
        try:
            paths.plain_name(part, f"{field} part {i + 1}")
        except OverlayError as exc:
            raise OverlayError(
                f"{where}: {field}: {text[:80]!r} is not a relative path inside the archive ({exc.message})",
                hint=HINT,
                code=ExitCode.FAILED,
            ) from None
    return text


def read_release(payload: bytes, where: str) -> ReleaseInfo:
    """The fields fai-overlay uses from a verified Release payload (the signed text only)."""
    para = deb822.Release(_text(payload))
    sums = {f.name: f for f in file_list(para, "SHA256", where, plain=False)}
    components = []
    for name in para.get("Components", "").split():
        # debian-security says "updates/main" but serves the files under "main/"
        last = name.rsplit("/", 1)[-1]
        try:
            components.append(paths.plain_name(last, "Components"))
        except OverlayError as exc:
            raise OverlayError(f"{where}: {exc.message}", hint=HINT, code=ExitCode.FAILED) from None
    return ReleaseInfo(
        suite=para.get("Suite", ""),
        codename=para.get("Codename", ""),
        components=tuple(components),
        date=_date(para, "Date", where),
        valid_until=_date(para, "Valid-Until", where),
        sha256=sums,
    )


def read_packages(
    data: bytes, where: str, default_arch: str, names: set[str] | None = None
) -> Iterator[BinaryEntry]:
    """Entries of a Packages index; with `names`, only (and only checking) those packages."""
    fields = ["Package", "Version", "Architecture"]
    for i, para in enumerate(deb822.Packages.iter_paragraphs(_text(data), fields=fields, use_apt_pkg=False)):
        name = para.get("Package")
        if names is not None and name not in names:
            continue
        entry = f"{where}: entry {i + 1}" + (f" ({name})" if isinstance(name, str) else "")
        name = _string(para, "Package", entry)
        version = _version(para, entry)
        yield BinaryEntry(name, version, para.get("Architecture") or default_arch)


def read_sources(data: bytes, where: str, names: set[str] | None = None) -> Iterator[SourceRecord]:
    """Entries of a Sources index; with `names`, only (and only checking) those source packages."""
    fields = ["Package", "Version", "Directory", "Checksums-Sha256"]
    for i, para in enumerate(deb822.Sources.iter_paragraphs(_text(data), fields=fields, use_apt_pkg=False)):
        name = para.get("Package")
        if names is not None and name not in names:
            continue
        entry = f"{where}: entry {i + 1}" + (f" ({name})" if isinstance(name, str) else "")
        name = _string(para, "Package", entry)
        version = _version(para, entry)
        directory = relative_dir(_string(para, "Directory", entry), entry)
        yield SourceRecord(name, version, directory, file_list(para, "Checksums-Sha256", entry))


def read_dsc(data: bytes, where: str) -> DscInfo:
    """A .dsc's Source, Version and the files it names (plain names, with size and sha256)."""
    para = deb822.Dsc(_text(data))
    files = file_list(para, "Checksums-Sha256", where)
    if not files:
        raise bad(where, "Checksums-Sha256", "lists no files")
    return DscInfo(_string(para, "Source", where), _version(para, where), files)
