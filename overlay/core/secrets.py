"""Credentials in URLs never reach an output: manifests, logs, plan text, published files.

A URL's user-info (`http://user:password@host`) is shown as `http://***@host`.
A Redactor also knows the credential strings of one build, so it can scrub
them wherever they turn up in text (FAI's logs, a tool's output).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MASK = "***"
USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")


def redact_url(text: str) -> str:
    """Every URL in `text` with its user-info replaced by ***."""
    return USERINFO_RE.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def has_credentials(url: str | None) -> bool:
    return bool(url) and USERINFO_RE.search(url or "") is not None


def redacted(url: str | None) -> bool:
    """The URL's credentials were removed (a manifest's copy of it)."""
    return bool(url) and f"://{MASK}@" in (url or "")


def credentials(url: str) -> list[str]:
    """The secret strings of a URL: its user-info, raw and percent-decoded, and the password."""
    out: list[str] = []
    for m in USERINFO_RE.finditer(url):
        info = m.group("userinfo")
        user, _, password = info.partition(":")
        for value in (info, urllib.parse.unquote(info), password, urllib.parse.unquote(password)):
            if value and len(value) >= 3 and value not in out:
                out.append(value)
    return out


@dataclass
class Redactor:
    """Scrubs the credentials of the URLs it was given, and any URL user-info, from text."""

    secrets: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, urls: Iterable[str | None]) -> Redactor:
        found: list[str] = []
        for url in urls:
            if url:
                found += [s for s in credentials(url) if s not in found]
        return cls(sorted(found, key=len, reverse=True))  # longest first: no half-replaced secret

    def text(self, text: str) -> str:
        text = redact_url(text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        return {k: self.text(v) for k, v in env.items()}
