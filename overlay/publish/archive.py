"""Reading a Debian archive: suites, verified Release files, Packages and Sources indices.

Every suite's InRelease (or Release + Release.gpg) is verified with gpgv and
its Valid-Until checked (trust.py) before anything in it is used; index files
are then checked against the sha256 the signed text gives for them. The files
are parsed with python-debian (entries.py). See docs/publishing.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from debian.debian_support import Version

from overlay.core import debian, log
from overlay.core.errors import ExitCode, OverlayError
from overlay.manifest.model import BuildManifest
from overlay.publish import entries, trust
from overlay.publish.entries import FileRef
from overlay.publish.fetch import Fetcher, NotFound, decompress, sha256_bytes
from overlay.publish.trust import Signature, Trust

DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR = debian.DEFAULT_MIRROR, debian.DEFAULT_SECURITY_MIRROR
COMPRESSIONS = (".xz", ".gz", "")

__all__ = ["FileRef", "ReleaseFile", "SourceEntry", "Suite", "Trust"]


@dataclass(frozen=True)
class Suite:
    name: str
    base_url: str
    security: bool = False
    backports: bool = False

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/dists/{self.name}"

    @property
    def snapshot(self) -> bool:
        return trust.is_snapshot(self.base_url)


@dataclass(frozen=True)
class SourceEntry:
    name: str
    version: str
    base_url: str
    directory: str
    files: tuple[FileRef, ...]
    suite: str
    signed: bool = True  # False: found at its pool path, in no signed index

    def url(self, filename: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.directory.strip('/')}/{filename}"

    @property
    def dsc(self) -> FileRef | None:
        return next((f for f in self.files if f.name.endswith(".dsc")), None)


@dataclass(frozen=True)
class ReleaseFile:
    """A suite's Release file, verified: its signature, freshness and the fields used here."""

    suite: Suite
    info: entries.ReleaseInfo
    signature: Signature
    stale: str | None = None  # set when only apt_max_age keeps it valid

    def index(self, component_path: str) -> tuple[str, FileRef] | None:
        """The best-compressed variant of e.g. 'main/binary-<arch>/Packages' listed here."""
        for ext in COMPRESSIONS:
            ref = self.info.sha256.get(component_path + ext)
            if ref:
                return component_path + ext, ref
        return None

    def describe(self) -> str:
        text = f"{self.suite.name}: {self.signature.describe()}"
        return text + (f"; {self.stale}" if self.stale else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite.name,
            "url": self.suite.url,
            "file": self.signature.file,
            "fingerprint": self.signature.fingerprint,
            "signer": self.signature.signer,
            "expired_key": self.signature.expired_key,
            "valid_until": self.info.valid_until.isoformat() if self.info.valid_until else None,
            "stale": self.stale,
        }


def verified_lines(releases: Sequence[ReleaseFile]) -> list[str]:
    """One line per suite: whose signature it was accepted with, and any expired-key or age note."""
    return [f"verified {r.describe()}" for r in releases]


def suites(
    release: str,
    *,
    mirror: str | None = None,
    security_mirror: str | None = None,
    backports: bool = False,
) -> list[Suite]:
    """The suites an image of `release` takes packages from, in apt's order of preference."""
    mirror = mirror or DEFAULT_MIRROR
    out = [
        Suite(release, mirror),
        Suite(f"{release}-updates", mirror),
        Suite(f"{release}-security", security_mirror or DEFAULT_SECURITY_MIRROR, security=True),
    ]
    if backports:
        out.append(Suite(f"{release}-backports", mirror, backports=True))
    return out


def uses_backports(manifest: BuildManifest) -> bool:
    if manifest.image.backports:
        return True
    return any(s.endswith("-backports") for p in manifest.packages for s in p.suites)


def _signed_release(fetcher: Fetcher, suite: Suite) -> tuple[bytes, bytes | None]:
    """(InRelease, None), or (Release, Release.gpg) where the mirror has no InRelease."""
    try:
        return fetcher.get(f"{suite.url}/InRelease"), None
    except NotFound:
        release = fetcher.get(f"{suite.url}/Release")  # NotFound: the suite is not on the mirror
    try:
        return release, fetcher.get(f"{suite.url}/Release.gpg")
    except NotFound:
        raise OverlayError(
            f"{suite.name}: {suite.url} has neither InRelease nor Release.gpg: its Release file is unsigned",
            hint="fai-overlay reads only signed archives; check --mirror",
            code=ExitCode.FAILED,
        ) from None


def fetch_release(fetcher: Fetcher, suite: Suite, checker: Trust) -> ReleaseFile:
    """The suite's Release file: signature verified, Valid-Until checked, fields parsed."""
    data, detached = _signed_release(fetcher, suite)
    where = f"{suite.name} ({suite.url})"
    payload, signature = trust.verify(checker, where, data, detached, snapshot=suite.snapshot)
    info = entries.read_release(payload, f"{suite.url}/{'InRelease' if detached is None else 'Release'}")
    if suite.name not in (info.suite, info.codename):
        raise OverlayError(
            f"{where}: the signed Release file is for suite '{info.suite}' (codename '{info.codename}'), "
            f"not '{suite.name}'",
            hint="a mirror that serves another suite's Release file can hide updates; check --mirror",
            code=ExitCode.FAILED,
        )
    stale = trust.check_fresh(checker, where, info.date, info.valid_until)
    release = ReleaseFile(suite, info, signature, stale)
    if stale or signature.expired_key:
        log.warn(release.describe())
    else:
        log.debug(f"verified {release.describe()}")
    return release


def fetch_index(fetcher: Fetcher, release: ReleaseFile, path: str, ref: FileRef) -> bytes:
    url = f"{release.suite.url}/{path}"
    data = fetcher.get(url)
    if sha256_bytes(data) != ref.sha256:
        raise OverlayError(
            f"{url} does not match the sha256 in its Release file",
            hint="the mirror may be updating; try again in a few minutes",
            code=ExitCode.FAILED,
        )
    return decompress(path, data)


def _indices(fetcher: Fetcher, release: ReleaseFile, kind: str) -> Iterator[tuple[str, bytes]]:
    """(url, data) of each index of the suite; kind: 'binary-<arch>/Packages' or 'source/Sources'."""
    for component in release.info.components:
        found = release.index(f"{component}/{kind}")
        if found is None:
            continue
        path, ref = found
        log.debug(f"reading {release.suite.url}/{path}")
        yield f"{release.suite.url}/{path}", fetch_index(fetcher, release, path, ref)


def read_packages(
    fetcher: Fetcher, release: ReleaseFile, arch: str, names: set[str] | None = None
) -> dict[tuple[str, str], str]:
    """{(package, architecture): highest version} of one suite's binary-ARCH indices."""
    out: dict[tuple[str, str], str] = {}
    for url, data in _indices(fetcher, release, f"binary-{arch}/Packages"):
        for p in entries.read_packages(data, url, arch, names):
            key = (p.name, p.architecture)
            if key not in out or Version(p.version) > Version(out[key]):
                out[key] = p.version
    return out


def read_sources(
    fetcher: Fetcher, release: ReleaseFile, names: set[str] | None = None
) -> dict[tuple[str, str], SourceEntry]:
    """{(source, version): entry} of one suite's Sources indices."""
    out: dict[tuple[str, str], SourceEntry] = {}
    suite = release.suite
    for url, data in _indices(fetcher, release, "source/Sources"):
        for s in entries.read_sources(data, url, names):
            entry = SourceEntry(s.name, s.version, suite.base_url, s.directory, s.files, suite.name)
            out.setdefault((entry.name, entry.version), entry)
    return out


def pool_directory(component: str, source: str) -> str:
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]
    return f"pool/{component}/{prefix}/{source}"


def dsc_name(source: str, version: str) -> str:
    return f"{source}_{version.split(':', 1)[-1]}.dsc"
