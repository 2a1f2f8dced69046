"""sshd's effective configuration, read as sshd reads it, from an image's files.

sshd reads /etc/ssh/sshd_config top to bottom; `Include` reads the named files
(globs sorted, relative paths under /etc/ssh) in place; for each keyword the
first value it obtains is the one used. A `Match` block applies only to the
connections it matches, up to the next `Match` (`Match all` ends the block) or
the end of the file it is in. Keywords are case-insensitive; `key value` and
`key=value` both work.
"""

from __future__ import annotations

import glob
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from overlay.verify.imagefs import Resolver

CONFIG = "/etc/ssh/sshd_config"
MAX_DEPTH = 16
# sshd's compiled-in defaults (OpenSSH >= 7.0) for the settings the checks read.
DEFAULTS = {
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
}
LINE = re.compile(r"\s*([^\s=]+)\s*(?:=\s*)?(.*)")
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}


@dataclass(frozen=True)
class Setting:
    keyword: str  # lower case
    value: str
    file: str  # inside the image
    line: int
    match: str = ""  # the Match criteria it is under, empty when global

    def where(self) -> str:
        block = f" (in 'Match {self.match}')" if self.match else ""
        return f"{self.file}:{self.line}{block}"


@dataclass
class Config:
    settings: list[Setting] = field(default_factory=list)  # every line, in the order sshd reads them
    files: list[str] = field(default_factory=list)

    def first(self, keyword: str) -> Setting | None:
        """The value sshd uses for every connection: the first one outside Match blocks."""
        key = _key(keyword)
        return next((s for s in self.settings if s.keyword == key and not s.match), None)

    def value(self, keyword: str) -> str | None:
        found = self.first(keyword)
        if found:
            return found.value
        return DEFAULTS.get(_key(keyword))

    def conditional(self, keyword: str) -> list[Setting]:
        """The first value of each Match block that sets the keyword."""
        key = _key(keyword)
        seen: set[tuple[str, str, str]] = set()
        out = []
        for s in self.settings:
            block = (s.file, s.match, s.keyword)
            if s.keyword == key and s.match and block not in seen:
                seen.add(block)
                out.append(s)
        return out


def _key(keyword: str) -> str:
    key = keyword.lower()
    return ALIASES.get(key, key)


def split(line: str) -> tuple[str, list[str]]:
    """A config line as sshd splits it: keyword, then arguments ('=' may separate them)."""
    found = LINE.match(line)
    if not found:
        return "", []
    keyword, rest = found.groups()
    try:
        args = shlex.split(rest, comments=False)
    except ValueError:
        args = rest.split()
    return keyword, args


def read(root: Path, path: str = CONFIG) -> Config:
    config = Config()
    _read_file(root, path, config, match="", depth=0)
    return config


def _read_file(root: Path, path: str, config: Config, match: str, depth: int) -> None:
    host = root / path.lstrip("/")
    if depth > MAX_DEPTH or not host.is_file():
        return
    config.files.append(path)
    for number, raw in enumerate(host.read_text(errors="replace").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        keyword, args = split(raw)
        key = _key(keyword)
        if key == "match":
            criteria = " ".join(args)
            match = "" if criteria.lower() == "all" else criteria
        elif key == "include":
            for pattern in args:
                for included in _expand(root, pattern):
                    _read_file(root, included, config, match, depth + 1)
        else:
            config.settings.append(Setting(key, " ".join(args), path, number, match))


def _expand(root: Path, pattern: str) -> list[str]:
    """An Include argument: the image paths it names, sorted as glob(3) sorts them."""
    absolute = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
    directory, _, name = absolute.rpartition("/")
    if not glob.has_magic(directory):
        directory = Resolver(root).directory(directory)
    prefix = str(root).rstrip("/")
    hits = sorted(glob.glob(glob.escape(prefix) + f"{directory.rstrip('/')}/{name}"))
    return [h[len(prefix) :] for h in hits]
