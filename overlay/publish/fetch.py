"""The one module that talks HTTP. Everything else gets a Fetcher, so tests pass a fake one."""

from __future__ import annotations

import hashlib
import lzma
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

from overlay import __version__
from overlay.core import log
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.secrets import redact_url

USER_AGENT = f"fai-overlay/{__version__}"
TIMEOUT = 60.0


class NotFound(OverlayError):
    """The server answered 404 (or 410): the file is not on this mirror."""

    def __init__(self, url: str) -> None:
        super().__init__(f"not found on the mirror: {url}", code=ExitCode.FAILED)
        self.url = url


redact = redact_url  # a URL with its user and password shown as ***, for logs and messages
MAX_GET = 256 << 20  # an InRelease, index or .dsc; the largest real index is about 15 MiB compressed
MAX_INDEX = 1 << 30  # an index unpacked; trixie's main Packages of one architecture is about 60 MiB


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

    def get(self, url: str, limit: int = MAX_GET) -> bytes:
        """The body of `url`; a mirror sending more than `limit` bytes is refused."""
        with self._open(url) as response:
            try:
                data: bytes = response.read(limit + 1)
            except OSError as exc:
                raise fetch_error(url, exc) from None
        if len(data) > limit:
            raise too_large(url, limit)
        return data

    def download(self, url: str, dest: Path, limit: int | None = None) -> str:
        """Stream `url` into `dest` (through dest.part) and return its sha256; at most `limit` bytes."""
        digest = hashlib.sha256()
        part = dest.with_name(dest.name + ".part")
        written = 0
        with self._open(url) as response, part.open("wb") as out:
            try:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    written += len(chunk)
                    if limit is not None and written > limit:
                        break
                    digest.update(chunk)
                    out.write(chunk)
            except OSError as exc:
                part.unlink(missing_ok=True)
                raise fetch_error(url, exc) from None
        if limit is not None and written > limit:
            part.unlink(missing_ok=True)
            raise too_large(url, limit)
        part.replace(dest)
        return digest.hexdigest()


def too_large(url: str, limit: int) -> OverlayError:
    return OverlayError(
        f"{url} is larger than the {limit} bytes expected",
        hint="the mirror may be broken or hostile; try another --mirror",
        code=ExitCode.FAILED,
    )


def decompress(name: str, data: bytes, limit: int = MAX_INDEX) -> bytes:
    """Unpack an apt index by its file name: .xz, .gz or plain; never more than `limit` bytes."""
    try:
        if name.endswith(".xz"):
            unpacker: Any = lzma.LZMADecompressor()
        elif name.endswith(".gz"):
            unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            return data
        out = unpacker.decompress(data, limit + 1)
    except (lzma.LZMAError, zlib.error, OSError, EOFError) as exc:
        raise OverlayError(f"corrupt index {name}: {exc}", code=ExitCode.FAILED) from None
    if len(out) > limit:
        raise OverlayError(
            f"index {name} unpacks to more than {limit >> 20} MiB",
            hint="a broken or hostile mirror",
            code=ExitCode.FAILED,
        )
    return bytes(out)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
