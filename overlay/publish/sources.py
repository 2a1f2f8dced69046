"""`sources`: the exact source packages of an image, downloaded, verified, bundled.

Every (source, version) of the manifest is looked up in the Sources indices of
the release, -updates, -security and (if used) backports, whose Release files
are verified first (signature, Valid-Until: see archive.py); a version not
listed there is tried at its computed pool path, and reported as not vouched
for by a signed index. Each .dsc is checked against the index, and every file
against the .dsc's Checksums-Sha256. A file name from a .dsc or an index is a
plain base name (overlay.core.paths), so nothing is written outside the
bundle. A version the mirror no longer has is reported, never skipped silently.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import log, paths
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.files import sha256_file
from overlay.manifest.model import BuildManifest, SourcePackage
from overlay.publish import archive, entries
from overlay.publish.archive import FileRef, ReleaseFile, SourceEntry, Suite, Trust
from overlay.publish.fetch import Fetcher, NotFound, sha256_bytes

COMPONENTS = ("main", "contrib", "non-free-firmware", "non-free")


@dataclass
class Fetched:
    entry: SourceEntry
    files: list[FileRef]


@dataclass
class Missing:
    name: str
    version: str
    reason: str
    available: list[str] = field(default_factory=list)


@dataclass
class SourcesResult:
    name: str
    expected: int
    fetched: list[Fetched]
    missing: list[Missing]
    bundle: Path
    tarball: Path | None = None
    releases: list[ReleaseFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected,
            "count": len(self.fetched),
            "complete": not self.missing,
            "bundle": str(self.bundle),
            "tarball": str(self.tarball) if self.tarball else None,
            "packages": [
                {
                    "name": f.entry.name,
                    "version": f.entry.version,
                    "suite": f.entry.suite,
                    "dsc": f.entry.url(archive.dsc_name(f.entry.name, f.entry.version)),
                    "files": [{"name": r.name, "size": r.size, "sha256": r.sha256} for r in f.files],
                    "verified": True,
                    "signed_index": f.entry.signed,
                }
                for f in self.fetched
            ],
            "missing": [vars(m) for m in self.missing],
            "release_files": [r.to_json() for r in self.releases],
        }


def read_indices(
    fetcher: Fetcher, suites: Sequence[Suite], names: set[str], trust: Trust
) -> tuple[dict[tuple[str, str], SourceEntry], list[ReleaseFile]]:
    index: dict[tuple[str, str], SourceEntry] = {}
    releases = []
    for suite in suites:
        with log.step(f"Reading the Sources of {suite.name} from {suite.base_url}"):
            try:
                release = archive.fetch_release(fetcher, suite, trust)
                found = archive.read_sources(fetcher, release, names)
            except NotFound:
                if suite is suites[0]:
                    raise
                log.warn(f"{suite.name} is not on {suite.base_url}; skipped")
                continue
        releases.append(release)
        for key, entry in found.items():
            index.setdefault(key, entry)
    return index, releases


def _pool_candidates(suites: Sequence[Suite], name: str) -> list[tuple[Suite, str]]:
    out, seen = [], set()
    for suite in suites:
        for component in COMPONENTS:
            prefix = f"updates/{component}" if suite.security else component
            directory = archive.pool_directory(prefix, name)
            if (suite.base_url, directory) not in seen:
                seen.add((suite.base_url, directory))
                out.append((suite, directory))
    return out


def probe_pool(fetcher: Fetcher, suites: Sequence[Suite], name: str, version: str) -> SourceEntry | None:
    """Find a version the indices do not list at its computed pool path (snapshot mirrors)."""
    dsc = archive.dsc_name(name, version)
    for suite, directory in _pool_candidates(suites, name):
        url = f"{suite.base_url.rstrip('/')}/{directory}/{dsc}"
        try:
            data = fetcher.get(url)
        except NotFound:
            continue
        ref = FileRef(dsc, len(data), sha256_bytes(data))
        log.warn(
            f"{name} {version} is in no Sources index, found at {url}: its files are checked against "
            "this .dsc, but no signed index vouches for the .dsc itself"
        )
        suite_name = f"{suite.name} (pool)"
        return SourceEntry(name, version, suite.base_url, directory, (ref,), suite_name, signed=False)
    return None


def dsc_files(dsc: Path, entry: SourceEntry) -> list[FileRef]:
    """The files a .dsc names (plain names), with the sizes and sha256 it gives for them."""
    where = f"{entry.suite}: {entry.url(dsc.name)}"
    info = entries.read_dsc(dsc.read_bytes(), where)
    if (info.source, info.version) != (entry.name, entry.version):
        raise entries.bad(
            where, "Source/Version", f"{info.source} {info.version}, expected {entry.name} {entry.version}"
        )
    return list(info.files)


def _get_verified(fetcher: Fetcher, url: str, dest: Path, ref: FileRef) -> None:
    if dest.is_file() and dest.stat().st_size == ref.size and sha256_file(dest) == ref.sha256:
        return  # already there from an earlier run
    digest = fetcher.download(url, dest, limit=ref.size)
    if digest != ref.sha256 or dest.stat().st_size != ref.size:
        dest.unlink()
        raise OverlayError(
            f"{ref.name} does not match its checksum ({url})",
            hint="the mirror may be updating or broken; run again or pick another --mirror",
            code=ExitCode.FAILED,
        )


def _dest(bundle: Path, ref: FileRef) -> Path:
    return paths.inside(bundle, paths.plain_name(ref.name, "file name"), "file name")


def fetch_one(fetcher: Fetcher, entry: SourceEntry, bundle: Path) -> Fetched | Missing:
    """Download the .dsc (checked against the index), then its files (checked against the .dsc)."""
    dsc_ref = entry.dsc
    if dsc_ref is None:
        return Missing(entry.name, entry.version, f"{entry.suite} lists no .dsc for it")
    try:
        _get_verified(fetcher, entry.url(dsc_ref.name), _dest(bundle, dsc_ref), dsc_ref)
        files = dsc_files(_dest(bundle, dsc_ref), entry)
        for ref in files:
            _get_verified(fetcher, entry.url(ref.name), _dest(bundle, ref), ref)
    except NotFound as exc:
        return Missing(
            entry.name, entry.version, f"listed in {entry.suite}, but {exc.url} is not on the mirror"
        )
    return Fetched(entry, [dsc_ref, *files])


def _available(index: Mapping[tuple[str, str], SourceEntry], name: str) -> list[str]:
    return sorted({v for (n, v) in index if n == name})


def resolve(
    wanted: Sequence[SourcePackage],
    index: Mapping[tuple[str, str], SourceEntry],
    fetcher: Fetcher,
    suites: Sequence[Suite],
) -> tuple[list[SourceEntry], list[Missing]]:
    found, missing = [], []
    for src in wanted:
        name, version = src.name, src.version
        entry = index.get((name, version)) or probe_pool(fetcher, suites, name, version)
        if entry is not None:
            found.append(entry)
            continue
        available = _available(index, name)
        where = ", ".join(sorted({s.base_url for s in suites}))
        reason = f"version {version} is not on {where}" + (
            f" (it has {', '.join(available)})" if available else " (no version of it at all)"
        )
        missing.append(Missing(name, version, reason, available))
    return found, missing


def check_wanted(wanted: Sequence[SourcePackage]) -> None:
    """Source names and versions become file names (their .dsc): each must give a plain one."""
    for i, src in enumerate(wanted):
        paths.plain_name(archive.dsc_name(src.name, src.version), f"source_packages[{i}]")


def collect(
    manifest: BuildManifest,
    out_dir: Path,
    fetcher: Fetcher,
    *,
    trust: Trust,
    mirror: str | None = None,
    security_mirror: str | None = None,
    jobs: int = 4,
) -> SourcesResult:
    wanted = manifest.source_packages
    if not wanted:
        raise OverlayError(
            "the manifest lists no source_packages", hint="rebuild the image with this fai-overlay"
        )
    check_wanted(wanted)
    image = manifest.image
    suites = archive.suites(
        image.release,
        mirror=mirror or image.mirror,
        security_mirror=security_mirror or image.security_mirror,
        backports=archive.uses_backports(manifest),
    )
    index, releases = read_indices(fetcher, suites, {s.name for s in wanted}, trust)
    found, missing = resolve(wanted, index, fetcher, suites)
    bundle = paths.inside(out_dir, f"{manifest.name}.sources", "the manifest's name")
    bundle.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[SourceEntry]] = {}
    for entry in found:  # versions of one source share files: fetch them in one thread
        groups.setdefault(entry.name, []).append(entry)
    with log.step(f"Downloading {len(found)} source packages into {bundle}"):
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            done = pool.map(lambda group: [fetch_one(fetcher, e, bundle) for e in group], groups.values())
            results = [r for group in done for r in group]
    fetched = [r for r in results if isinstance(r, Fetched)]
    missing = sorted(
        [*missing, *(r for r in results if isinstance(r, Missing))], key=lambda m: (m.name, m.version)
    )
    for m in missing:
        log.warn(f"missing source: {m.name} {m.version}: {m.reason}")
    return SourcesResult(manifest.name, len(wanted), fetched, missing, bundle, releases=releases)


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def index_text(result: SourcesResult) -> str:
    lines = [f"# source packages of {result.name}: {len(result.fetched)} of {result.expected}"]
    for f in sorted(result.fetched, key=lambda f: (f.entry.name, f.entry.version)):
        dsc = archive.dsc_name(f.entry.name, f.entry.version)
        lines.append(f"{f.entry.name} {f.entry.version} {f.entry.suite} {f.entry.url(dsc)}")
    lines += [f"MISSING {m.name} {m.version}: {m.reason}" for m in result.missing]
    return "\n".join(lines) + "\n"


def write_bundle(result: SourcesResult, out_dir: Path) -> SourcesResult:
    """Write <name>.sources.json and .txt, and <name>.sources.tar holding the files and both indices."""
    stem = out_dir / f"{result.name}.sources"
    result.tarball = stem.with_name(stem.name + ".tar")
    json_path, text_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".txt")
    json_path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    text_path.write_text(index_text(result))
    names = sorted({r.name for f in result.fetched for r in f.files})
    part = result.tarball.with_name(result.tarball.name + ".part")
    with log.step(f"Writing {result.tarball.name} ({len(names)} files)"):
        with tarfile.open(part, "w", format=tarfile.GNU_FORMAT) as tar:
            for path in (json_path, text_path):
                tar.add(path, arcname=f"{result.bundle.name}/{path.name}", filter=_reset)
            for name in names:
                tar.add(result.bundle / name, arcname=f"{result.bundle.name}/{name}", filter=_reset)
        part.replace(result.tarball)
    return result
