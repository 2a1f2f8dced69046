"""The image's dpkg database, read from the host: who owns which file, its digest, diversions, overrides.

dpkg keeps, per package, the list of its paths (info/<pkg>.list), the MD5 of
each regular file it unpacked except conffiles (info/<pkg>.md5sums), the
conffiles (info/<pkg>.conffiles), the diversions (diversions) and the
administrator's mode overrides (statoverride). It does not keep the mode a
package ships a file with: that is only in the .deb.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from overlay.verify.imagefs import Resolver

ADMINDIR = "var/lib/dpkg"


@dataclass(frozen=True)
class Diversion:
    path: str  # the diverted path
    to: str  # where the diverted package's file lives
    by: str  # the package that diverts (":" means the local administrator)


@dataclass(frozen=True)
class Override:
    user: str
    group: str
    mode: int


@dataclass(frozen=True)
class Filter:
    include: bool
    pattern: str


@dataclass(frozen=True)
class Mismatch:
    package: str
    path: str
    problem: str  # "changed", "missing", "not a regular file"

    def __str__(self) -> str:
        return f"{self.path} ({self.package}: {self.problem})"


@dataclass
class Database:
    root: Path
    resolver: Resolver = field(init=False)

    def __post_init__(self) -> None:
        self.resolver = Resolver(self.root)

    @property
    def info(self) -> Path:
        return self.root / ADMINDIR / "info"

    def _info_files(self, suffix: str) -> dict[str, Path]:
        """package (name or name:arch, as dpkg names its files) -> its info file with that suffix."""
        return {p.name.removesuffix(suffix): p for p in sorted(self.info.glob(f"*{suffix}"))}

    @functools.cached_property
    def listed(self) -> dict[str, frozenset[str]]:
        """package -> the paths its .list holds now (directories resolved, so /bin/su and /usr/bin/su
        are one). A file another package took over (Replaces) leaves the old owner's .list, but
        stays in its .md5sums: dpkg does not rewrite that file."""
        return {
            package: frozenset(
                self.resolver.canonical(line)
                for line in path.read_text(errors="replace").splitlines()
                if line.startswith("/")
            )
            for package, path in self._info_files(".list").items()
        }

    @functools.cached_property
    def owned(self) -> frozenset[str]:
        """Every path some package owns."""
        return frozenset().union(*self.listed.values())

    @functools.cached_property
    def conffiles(self) -> frozenset[str]:
        out: set[str] = set()
        for path in self._info_files(".conffiles").values():
            for line in path.read_text(errors="replace").splitlines():
                name = line.split()[0] if line.split() else ""
                if name.startswith("/"):
                    out.add(self.resolver.canonical(name))
        return frozenset(out)

    @functools.cached_property
    def diversions(self) -> dict[str, Diversion]:
        lines = _lines(self.root / ADMINDIR / "diversions")
        out = {}
        for i in range(0, len(lines) - 2, 3):
            d = Diversion(lines[i], lines[i + 1], lines[i + 2])
            out[self.resolver.canonical(d.path)] = d
        return out

    @functools.cached_property
    def overrides(self) -> dict[str, Override]:
        out = {}
        for line in _lines(self.root / ADMINDIR / "statoverride"):
            parts = line.split(maxsplit=3)
            if len(parts) == 4:
                user, group, mode, path = parts
                out[self.resolver.canonical(path)] = Override(user, group, int(mode, 8))
        return out

    def md5sums(self) -> dict[str, list[tuple[str, str]]]:
        """package -> [(md5, path)] as dpkg recorded them (paths start with /)."""
        out: dict[str, list[tuple[str, str]]] = {}
        for package, path in self._info_files(".md5sums").items():
            rows = out.setdefault(package, [])
            for line in path.read_text(errors="replace").splitlines():
                digest, _, name = line.partition(" ")
                name = name.lstrip(" *")
                if digest and name:
                    rows.append((digest, "/" + name.lstrip("/")))
        return out

    @functools.cached_property
    def digests(self) -> dict[str, str]:
        """Where each package file is on disk (diversions followed) -> its MD5."""
        return {
            self.on_disk(pkg, path): digest for pkg, rows in self.md5sums().items() for digest, path in rows
        }

    def filters(self) -> list[Filter]:
        """dpkg's path-exclude/path-include options (etc/dpkg/dpkg.cfg and dpkg.cfg.d/*), in order."""
        files = [self.root / "etc/dpkg/dpkg.cfg", *sorted((self.root / "etc/dpkg/dpkg.cfg.d").glob("*"))]
        out = []
        for path in files:
            for line in _lines(path):
                key, _, value = line.partition(" ")
                key = key.removeprefix("--")
                if key in ("path-exclude", "path-include") and value.strip():
                    out.append(Filter(key == "path-include", value.strip()))
        return out

    def on_disk(self, package: str, path: str) -> str:
        """Where `package`'s file `path` is: elsewhere if another package (or the admin) diverted it."""
        canonical = self.resolver.canonical(path)
        diversion = self.diversions.get(canonical)
        if diversion and diversion.by != package.split(":")[0]:
            return self.resolver.canonical(diversion.to)
        return canonical


@functools.cache
def database(root: Path) -> Database:
    """One Database per image root, shared by the checks of a pytest session."""
    return Database(root)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [
        ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip() and ln[0] != "#"
    ]


def excluded(path: str, filters: list[Filter]) -> bool:
    """dpkg's rule: the last path-exclude or path-include matching the path decides (fnmatch, * spans /)."""
    verdict = False
    for f in filters:
        if fnmatch.fnmatchcase(path, f.pattern):
            verdict = not f.include
    return verdict


def md5(path: Path) -> str:
    with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW)) as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def verify(db: Database) -> list[Mismatch]:
    """Package files whose content differs from dpkg's md5sums, or that are gone; conffiles aside.

    Only the paths still in the package's .list count, as for dpkg --verify. A file dpkg's path
    filters (path-exclude) kept from being unpacked is not missing.
    """
    filters = db.filters()
    conffiles = db.conffiles
    out = []
    for package, rows in sorted(db.md5sums().items()):
        listed = db.listed.get(package, frozenset())
        for digest, path in rows:
            real = db.on_disk(package, path)
            if real in conffiles or db.resolver.canonical(path) not in listed:
                continue  # a conffile, or a file another package has taken over, as dpkg --verify
            host = db.root / real.lstrip("/")
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                if not excluded(path, filters):
                    out.append(Mismatch(package, real, "missing"))
                continue
            if not stat.S_ISREG(st.st_mode):
                out.append(Mismatch(package, real, "not a regular file"))
            elif md5(host) != digest:
                out.append(Mismatch(package, real, "changed"))
    return out
