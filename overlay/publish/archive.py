"""Reading a Debian archive: suites, Release files, Packages and Sources indices.

Index files are checked against the sha256 in the suite's (In)Release file.
The Release file itself is not signature-checked here (see docs/publishing.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from debian.debian_support import Version

from overlay.core import log
from overlay.core.errors import ExitCode, OverlayError
from overlay.manifest.model import BuildManifest
from overlay.publish.fetch import Fetcher, NotFound, decompress, sha256_bytes

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
COMPRESSIONS = (".xz", ".gz", "")


@dataclass(frozen=True)
class Suite:
    name: str
    base_url: str
    security: bool = False
    backports: bool = False

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/dists/{self.name}"


@dataclass(frozen=True)
class FileRef:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SourceEntry:
    name: str
    version: str
    base_url: str
    directory: str
    files: tuple[FileRef, ...]
    suite: str

    def url(self, filename: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.directory.strip('/')}/{filename}"

    @property
    def dsc(self) -> FileRef | None:
        return next((f for f in self.files if f.name.endswith(".dsc")), None)


@dataclass(frozen=True)
class ReleaseFile:
    suite: Suite
    fields: dict[str, str]
    sha256: dict[str, tuple[str, int]]

    def index(self, component_path: str) -> tuple[str, str, int] | None:
        """The best-compressed variant of e.g. 'main/binary-<arch>/Packages' listed here."""
        for ext in COMPRESSIONS:
            entry = self.sha256.get(component_path + ext)
            if entry:
                return component_path + ext, entry[0], entry[1]
        return None

    def components(self) -> list[str]:
        # debian-security says "updates/main" but serves the files under "main/"
        names = self.fields.get("Components", "").split()
        return [n.rsplit("/", 1)[-1] for n in names]


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


def paragraphs(text: str, wanted: Iterable[str]) -> Iterator[dict[str, str]]:
    """deb822 paragraphs with only the `wanted` fields; continuation lines joined by newlines."""
    keys = set(wanted)
    entry: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if entry:
                yield entry
            entry, current = {}, None
        elif line[0] in " \t":
            if current is not None:
                entry[current] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            current = key if key in keys else None
            if current is not None:
                entry[current] = value.strip()
    if entry:
        yield entry


def strip_signature(text: str) -> str:
    """The payload of a clear-signed (In)Release or .dsc; plain text is returned unchanged."""
    if not text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        return text
    lines = text.splitlines()
    start = lines.index("") + 1 if "" in lines else 1
    out = []
    for line in lines[start:]:
        if line.startswith("-----BEGIN PGP SIGNATURE-----"):
            break
        out.append(line[2:] if line.startswith("- ") else line)
    return "\n".join(out) + "\n"


def checksums(field: str) -> list[FileRef]:
    """Parse a Checksums-Sha256 / SHA256 field: lines of 'sha256 size name'."""
    out = []
    for line in field.splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append(FileRef(parts[2], int(parts[1]), parts[0]))
    return out


def fetch_release(fetcher: Fetcher, suite: Suite) -> ReleaseFile:
    try:
        text = fetcher.get(f"{suite.url}/InRelease").decode(errors="replace")
    except NotFound:
        text = fetcher.get(f"{suite.url}/Release").decode(errors="replace")
    payload = strip_signature(text)
    fields = next(paragraphs(payload, {"Suite", "Codename", "Components", "Architectures", "SHA256"}), {})
    if "SHA256" not in fields:
        raise OverlayError(
            f"{suite.url}/InRelease has no SHA256 list",
            hint="is this a Debian mirror?",
            code=ExitCode.FAILED,
        )
    sums = {f.name: (f.sha256, f.size) for f in checksums(fields.pop("SHA256"))}
    return ReleaseFile(suite, fields, sums)


def fetch_index(fetcher: Fetcher, release: ReleaseFile, path: str, sha256: str) -> str:
    url = f"{release.suite.url}/{path}"
    data = fetcher.get(url)
    if sha256_bytes(data) != sha256:
        raise OverlayError(
            f"{url} does not match the sha256 in its Release file",
            hint="the mirror may be updating; try again in a few minutes",
            code=ExitCode.FAILED,
        )
    return decompress(path, data).decode(errors="replace")


def _indices(fetcher: Fetcher, suite: Suite, kind: str) -> Iterator[tuple[str, str]]:
    """(component, text) of each index of the suite; kind: 'binary-<arch>/Packages' or 'source/Sources'."""
    release = fetch_release(fetcher, suite)
    for component in release.components():
        found = release.index(f"{component}/{kind}")
        if found is None:
            continue
        path, sha256, _ = found
        log.debug(f"reading {suite.url}/{path}")
        yield component, fetch_index(fetcher, release, path, sha256)


def read_packages(
    fetcher: Fetcher, suite: Suite, arch: str, names: set[str] | None = None
) -> dict[tuple[str, str], str]:
    """{(package, architecture): highest version} of one suite's binary-ARCH indices."""
    out: dict[tuple[str, str], str] = {}
    for _, text in _indices(fetcher, suite, f"binary-{arch}/Packages"):
        for p in paragraphs(text, {"Package", "Version", "Architecture"}):
            if names is not None and p.get("Package") not in names:
                continue
            key = (p["Package"], p.get("Architecture", arch))
            if key not in out or Version(p["Version"]) > Version(out[key]):
                out[key] = p["Version"]
    return out


def read_sources(
    fetcher: Fetcher, suite: Suite, names: set[str] | None = None
) -> dict[tuple[str, str], SourceEntry]:
    """{(source, version): entry} of one suite's Sources indices."""
    out: dict[tuple[str, str], SourceEntry] = {}
    wanted = {"Package", "Version", "Directory", "Checksums-Sha256"}
    for _, text in _indices(fetcher, suite, "source/Sources"):
        for p in paragraphs(text, wanted):
            if names is not None and p.get("Package") not in names:
                continue
            files = tuple(checksums(p.get("Checksums-Sha256", "")))
            entry = SourceEntry(
                p["Package"], p["Version"], suite.base_url, p["Directory"], files, suite.name
            )
            out.setdefault((entry.name, entry.version), entry)
    return out


def pool_directory(component: str, source: str) -> str:
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]
    return f"pool/{component}/{prefix}/{source}"


def dsc_name(source: str, version: str) -> str:
    return f"{source}_{version.split(':', 1)[-1]}.dsc"
