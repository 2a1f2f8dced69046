"""The published tree, laid out like cloud.debian.org/images/cloud/.

    TREE/<release>/<YYYYMMDD-N>/             releases
    TREE/<release>/daily/<YYYYMMDD-N>/       dailies
    TREE/<release>[/daily]/latest -> <YYYYMMDD-N>/.latest

A version directory holds, per image, <stem>.raw, .qcow2, .tar.xz and .json
(stem: <name>-<version>, or <name>-daily-<version>), the logs and junit
files, SHA512SUMS and publish.json. Its files are read-only (0444). `.latest/`
inside it has unversioned links and its own SHA512SUMS.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.core.files import CHUNK, sha512_file

SUMS = "SHA512SUMS"
RECORD = "publish.json"
LATEST = "latest"
LATEST_DIR = ".latest"
MANIFEST_EXT = "json"  # <stem>.json: the build manifest, unchanged
VERSION_RE = re.compile(r"^(\d{8})-(\d+)$")


class Kind(enum.StrEnum):
    daily = "daily"
    release = "release"


@dataclass(frozen=True, order=True)
class VersionId:
    date: str
    serial: int

    def __str__(self) -> str:
        return f"{self.date}-{self.serial}"

    @property
    def day(self) -> dt.date:
        return dt.datetime.strptime(self.date, "%Y%m%d").date()

    @classmethod
    def parse(cls, text: str) -> VersionId | None:
        m = VERSION_RE.match(text)
        return cls(m.group(1), int(m.group(2))) if m else None


def kind_dir(tree: Path, release: str, kind: Kind) -> Path:
    return tree / release / "daily" if kind is Kind.daily else tree / release


def stem(name: str, kind: Kind, version: VersionId) -> str:
    return f"{name}-daily-{version}" if kind is Kind.daily else f"{name}-{version}"


def latest_stem(name: str, kind: Kind) -> str:
    return f"{name}-daily" if kind is Kind.daily else name


def latest_manifest(tree: Path, release: str, kind: Kind, name: str) -> Path:
    """The manifest of image `name` in the newest version of its kind, through `latest`."""
    return kind_dir(tree, release, kind) / LATEST / f"{latest_stem(name, kind)}.{MANIFEST_EXT}"


def releases(tree: Path) -> list[str]:
    if not tree.is_dir():
        return []
    return sorted(p.name for p in tree.iterdir() if p.is_dir() and not p.name.startswith("."))


def versions(directory: Path) -> list[VersionId]:
    """Complete version directories, oldest first (hidden partial ones are not versions)."""
    if not directory.is_dir():
        return []
    found = [VersionId.parse(p.name) for p in directory.iterdir() if p.is_dir() and not p.is_symlink()]
    return sorted(v for v in found if v is not None)


def next_version(directory: Path, day: dt.date) -> VersionId:
    date = day.strftime("%Y%m%d")
    serials = [v.serial for v in versions(directory) if v.date == date]
    return VersionId(date, max(serials, default=0) + 1)


def read_record(version_dir: Path) -> dict[str, Any]:
    path = version_dir / RECORD
    if not path.is_file():
        return {"images": []}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def leftovers(directory: Path) -> Iterator[Path]:
    """Hidden work directories of interrupted publishes or deletions."""
    if directory.is_dir():
        for p in sorted(directory.iterdir()):
            if p.name.startswith(".") and p.name.endswith((".partial", ".deleting")) and p.is_dir():
                yield p


def _hash_zeros(digest: Any, count: int) -> None:
    zeros = bytes(CHUNK)
    while count > 0:
        n = min(count, CHUNK)
        digest.update(zeros[:n])
        count -= n


def _next_data(fd: int, pos: int, size: int) -> tuple[int, int]:
    """(start, end) of the next data extent at or after pos; (size, size) when only a hole is left."""
    try:
        start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        return size, size
    try:
        end = os.lseek(fd, start, os.SEEK_HOLE)
    except OSError:
        end = size
    return start, end


def copy_sparse(src: Path, dest: Path) -> str:
    """Copy keeping holes (a 3 GiB raw stays small); return the sha512 of the content."""
    digest = hashlib.sha512()
    size = src.stat().st_size
    with src.open("rb") as fin, dest.open("wb") as fout:
        pos = 0
        while pos < size:
            start, end = _next_data(fin.fileno(), pos, size)
            _hash_zeros(digest, start - pos)
            fin.seek(start)
            fout.seek(start)
            while start < end:
                chunk = fin.read(min(CHUNK, end - start))
                if not chunk:
                    break
                digest.update(chunk)
                fout.write(chunk)
                start += len(chunk)
            pos = max(end, start)
        fout.truncate(size)
    shutil.copymode(src, dest)
    return digest.hexdigest()


def regular_files(directory: Path) -> list[str]:
    """Relative paths of the files to checksum: no symlinks, nothing hidden, not SHA512SUMS."""
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(directory).as_posix()
            if rel != SUMS and not path.is_symlink() and not name.startswith("."):
                out.append(rel)
    return sorted(out)


def write_sums(directory: Path, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """SHA512SUMS in sha512sum's format; `known` saves re-hashing big files we hashed while copying."""
    sums = {rel: (known or {}).get(rel) or sha512_file(directory / rel) for rel in regular_files(directory)}
    (directory / SUMS).write_text("".join(f"{h}  {rel}\n" for rel, h in sums.items()))
    return sums


def write_latest_dir(version_dir: Path, links: Mapping[str, str], sums: Mapping[str, str]) -> None:
    """`.latest/` with unversioned names -> the versioned files, and its own SHA512SUMS."""
    latest = version_dir / LATEST_DIR
    latest.mkdir()
    lines = []
    for alias, target in sorted(links.items()):
        (latest / alias).symlink_to(f"../{target}")
        if target in sums:
            lines.append(f"{sums[target]}  {alias}\n")
    (latest / SUMS).write_text("".join(lines))


def freeze(directory: Path) -> None:
    """Files 0444, directories 0755: published files are never changed in place."""
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(0o444)
        for name in dirnames:
            (Path(dirpath) / name).chmod(0o755)
    directory.chmod(0o755)


def point_latest(directory: Path) -> VersionId | None:
    """Make `latest` name the newest version's .latest (or remove it); atomic through rename."""
    link = directory / LATEST
    found = versions(directory)
    if not found:
        if link.is_symlink():
            link.unlink()
        return None
    newest = found[-1]
    target = f"{newest}/{LATEST_DIR}" if (directory / str(newest) / LATEST_DIR).is_dir() else str(newest)
    if link.is_symlink() and os.readlink(link) == target:
        return newest
    tmp = directory / f".{LATEST}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)
    return newest


def remove_tree(path: Path) -> None:
    """Delete a directory without a half-deleted state ever being visible: rename, then remove."""
    hidden = path.with_name(f".{path.name}.deleting")
    os.rename(path, hidden)
    shutil.rmtree(hidden)
