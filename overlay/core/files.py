"""File helpers used across stages: content hashes and tree copies."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's content, read in chunks."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def sha512_file(path: Path) -> str:
    return file_digest(path, "sha512")


def copy_tree(src: Path, dest: Path) -> None:
    """Replace `dest` with a copy of `src`; symlinks are copied as links."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=True)
