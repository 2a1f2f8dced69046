"""The one module that talks HTTP. Everything else gets a Fetcher, so tests pass a fake one."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from overlay import __version__
from overlay.core import log
from overlay.core.errors import ExitCode, OverlayError

USER_AGENT = f"fai-overlay/{__version__}"
TIMEOUT = 60.0


class NotFound(OverlayError):
    """The server answered 404 (or 410): the file is not on this mirror."""

    def __init__(self, url: str) -> None:
        super().__init__(f"not found on the mirror: {url}", code=ExitCode.FAILED)
        self.url = url


def redact(url: str) -> str:
    """`url` with any user and password shown as ***, for logs and messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def fetch_error(url: str, reason: object, proxy: str | None = None) -> OverlayError:
    via = f" through the proxy {redact(proxy)}" if proxy else ""
    return OverlayError(
        f"cannot download {url}{via}: {reason}",
        hint="check the network, the --mirror URL" + (" and the manifest's apt_proxy" if proxy else ""),
        code=ExitCode.FAILED,
    )


class Fetcher:
    """Downloads over HTTP(S) with urllib. Subclass and override get()/download() in tests.

    `proxy` (the build's apt_proxy) is used for http and https; without it urllib
    follows the http_proxy/https_proxy/no_proxy environment, as before.
    """

    def __init__(self, proxy: str | None = None) -> None:
        self.proxy = proxy
        handlers = [urllib.request.ProxyHandler({"http": proxy, "https": proxy})] if proxy else []
        self._opener = urllib.request.build_opener(*handlers)

    def _open(self, url: str) -> Any:
        via = f" via {redact(self.proxy)}" if self.proxy else ""
        log.debug(f"GET {url}{via}")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            return self._opener.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise NotFound(url) from None
            raise fetch_error(url, f"HTTP {exc.code} {exc.reason}", self.proxy) from None
        except (urllib.error.URLError, OSError) as exc:
            raise fetch_error(url, getattr(exc, "reason", exc), self.proxy) from None

    def get(self, url: str) -> bytes:
        with self._open(url) as response:
            try:
                data: bytes = response.read()
            except OSError as exc:
                raise fetch_error(url, exc) from None
        return data

    def download(self, url: str, dest: Path) -> str:
        """Stream `url` into `dest` (through dest.part) and return its sha256."""
        digest = hashlib.sha256()
        part = dest.with_name(dest.name + ".part")
        with self._open(url) as response, part.open("wb") as out:
            try:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
            except OSError as exc:
                raise fetch_error(url, exc) from None
        part.replace(dest)
        return digest.hexdigest()


def decompress(name: str, data: bytes) -> bytes:
    """Unpack an apt index by its file name: .xz, .gz or plain."""
    try:
        if name.endswith(".xz"):
            return lzma.decompress(data)
        if name.endswith(".gz"):
            return gzip.decompress(data)
    except (lzma.LZMAError, OSError, EOFError) as exc:
        raise OverlayError(f"corrupt index {name}: {exc}", code=ExitCode.FAILED) from None
    return data


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
