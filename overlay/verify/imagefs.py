"""Reading an image's root filesystem from the host, as the image would see it.

Paths inside an image are resolved inside its root: a symlink, even an absolute
one (`/lib -> usr/lib`, `/etc/foo -> /etc/shadow`), never leads to the host's
files. One walk of the tree is shared by every check of a pytest session.
"""

from __future__ import annotations

import functools
import os
import stat
from collections import deque
from dataclasses import dataclass
from pathlib import Path

MAX_HOPS = 40


class Resolver:
    """Resolve image paths inside `root`; directory lookups are cached (dpkg lists name 25,000 files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs: dict[str, str] = {}

    def _walk(self, parts: deque[str], follow_last: bool) -> list[str]:
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.popleft()
            if part == "..":
                if done:
                    done.pop()
                continue
            here = os.path.join(self.root, *done, part)
            if (parts or follow_last) and os.path.islink(here):
                hops += 1
                if hops > MAX_HOPS:
                    break
                target = os.readlink(here)
                if target.startswith("/"):
                    done = []
                parts.extendleft(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            done.append(part)
        return done

    def directory(self, path: str) -> str:
        """The real directory (image path, no trailing slash) that `path` names."""
        key = "/" + path.strip("/")
        if key not in self._dirs:
            parts = deque(p for p in key.split("/") if p not in ("", "."))
            self._dirs[key] = "/" + "/".join(self._walk(parts, follow_last=True))
        return self._dirs[key].rstrip("/") or "/"

    def canonical(self, path: str) -> str:
        """`path` with its directories resolved (the last component is not followed)."""
        parent, _, name = ("/" + path.strip("/")).rpartition("/")
        if not name:
            return "/"
        return f"{self.directory(parent).rstrip('/')}/{name}"

    def host_path(self, path: str) -> Path:
        """Where the image's `path` (directories resolved, last component not followed) is on the host."""
        return self.root / self.canonical(path).lstrip("/")


@dataclass(frozen=True)
class Entry:
    path: str  # inside the image, starting with /
    mode: int
    uid: int
    gid: int
    size: int

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def perms(self) -> str:
        return f"{stat.S_IMODE(self.mode):04o}"


@functools.cache
def walk(root: Path) -> tuple[Entry, ...]:
    """Every entry of the image's root filesystem (symlinks not followed, other filesystems skipped)."""
    out: list[Entry] = []
    device = os.lstat(root).st_dev
    pending = [str(root)]
    prefix = len(str(root).rstrip("/"))
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            rel = entry.path[prefix:]
            out.append(Entry(rel, st.st_mode, st.st_uid, st.st_gid, st.st_size))
            if stat.S_ISDIR(st.st_mode) and st.st_dev == device:
                pending.append(entry.path)
    return tuple(sorted(out, key=lambda e: e.path))


def table(path: Path) -> list[list[str]]:
    """A colon-separated table (/etc/passwd, group, shadow, gshadow) without comments or blank lines."""
    if not path.is_file():
        return []
    return [line.split(":") for line in path.read_text().splitlines() if line and not line.startswith("#")]


def names(root: Path, table_name: str) -> dict[int, str]:
    """uid -> user name (table_name 'passwd') or gid -> group name ('group'), as the image defines them."""
    out: dict[int, str] = {}
    for row in table(root / "etc" / table_name):
        if len(row) > 2 and row[2].isdigit():
            out.setdefault(int(row[2]), row[0])
    return out


def homes(root: Path) -> list[str]:
    """Home directories that exist in the image: /root, every /home/*, and each account's home."""
    found = {"/root"} | {f"/home/{p.name}" for p in (root / "home").glob("*") if p.is_dir()}
    found |= {row[5] for row in table(root / "etc/passwd") if len(row) > 5 and row[5].startswith("/")}
    resolver = Resolver(root)
    real = {resolver.directory(h) for h in found}
    return sorted(h for h in real if h != "/" and (root / h.lstrip("/")).is_dir())
