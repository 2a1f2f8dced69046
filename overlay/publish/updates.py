"""check-updates: which installed packages have newer versions on the mirror.

Versions are compared with Debian's ordering (python-debian), never as strings.
A package installed from stable is compared with the release, -updates and
-security suites; one installed from backports also with backports, as apt
would upgrade it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from debian.debian_support import Version

from overlay.core import log, resources
from overlay.core.errors import ExitCode, OverlayError
from overlay.manifest.model import BuildManifest, Package
from overlay.publish import archive
from overlay.publish.fetch import Fetcher, NotFound

CORE_REBOOT = {
    "linux-image-*": "a new kernel runs only after a reboot",
    "libc6": "every running process keeps the old C library mapped",
    "systemd": "PID 1",
}

Index = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Update:
    name: str
    architecture: str
    installed: str
    candidate: str
    suite: str
    security: bool
    reboot: str | None

    def flags(self) -> list[str]:
        return [f for f, on in (("security", self.security), ("needs-reboot", bool(self.reboot))) if on]


@dataclass
class UpdateReport:
    name: str
    release: str
    arch: str
    suites: list[str]
    updates: list[Update]
    not_in_mirror: list[str]
    releases: list[archive.ReleaseFile] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if any(u.security for u in self.updates):
            return ExitCode.SECURITY_UPDATES
        return ExitCode.UPDATES if self.updates else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "release": self.release,
            "arch": self.arch,
            "suites": self.suites,
            "updates": [asdict(u) | {"flags": u.flags()} for u in self.updates],
            "security": sum(u.security for u in self.updates),
            "needs_reboot": sorted({u.name for u in self.updates if u.reboot}),
            "not_in_mirror": self.not_in_mirror,
            "release_files": [r.to_json() for r in self.releases],
            "exit_code": int(self.exit_code),
        }


def reboot_patterns() -> dict[str, str]:
    """The documented list (overlay/data/reboot-packages.yaml) plus the kernel, libc6 and systemd."""
    data = resources.data_yaml("reboot-packages.yaml").data or {}
    listed = data.get("packages") or {}
    if not isinstance(listed, dict):
        raise OverlayError("'packages' must be a mapping of pattern: reason", path="reboot-packages.yaml")
    return {**{str(k): str(v) for k, v in listed.items()}, **CORE_REBOOT}


def needs_reboot(name: str, patterns: Mapping[str, str]) -> str | None:
    for pattern, reason in patterns.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def _from_backports(pkg: Package) -> bool:
    return any(s.endswith("-backports") for s in pkg.suites)


def _read(
    fetcher: Fetcher,
    suite: archive.Suite,
    checker: archive.Trust,
    arches: set[str],
    names: set[str],
    *,
    required: bool,
) -> tuple[archive.ReleaseFile, Index] | None:
    try:
        release = archive.fetch_release(fetcher, suite, checker)
        index: Index = {}
        for arch in sorted(arches):
            index.update(archive.read_packages(fetcher, release, arch, names))
    except NotFound as exc:
        if required:
            raise OverlayError(
                f"release '{suite.name}' is not on the mirror ({exc.url})",
                hint="check --mirror and the manifest's release",
                code=ExitCode.FAILED,
            ) from None
        log.warn(f"{suite.name} is not on {suite.base_url}; skipped")
        return None
    return release, index


def compare(
    packages: Sequence[Package],
    indices: Mapping[archive.Suite, Index],
    patterns: Mapping[str, str],
) -> tuple[list[Update], list[str]]:
    """Updates for `packages`, and the names found in none of the indices."""
    updates, missing = [], []
    for pkg in packages:
        key, installed = pkg.key, Version(pkg.version)
        offers = [
            (Version(idx[key]), suite)
            for suite, idx in indices.items()
            if key in idx and (not suite.backports or _from_backports(pkg))
        ]
        if not offers:
            missing.append(f"{pkg.name}:{pkg.architecture}")
            continue
        best, suite = max(offers, key=lambda o: o[0])
        if best <= installed:
            continue
        security = any(v > installed for v, s in offers if s.security)
        reason = needs_reboot(pkg.name, patterns)
        updates.append(
            Update(pkg.name, pkg.architecture, pkg.version, str(best), suite.name, security, reason)
        )
    return updates, missing


def check(
    manifest: BuildManifest,
    fetcher: Fetcher,
    *,
    trust: archive.Trust,
    mirror: str | None = None,
    security_mirror: str | None = None,
) -> UpdateReport:
    image = manifest.image
    release, arch = image.release, image.arch.name
    packages = manifest.packages
    suites = archive.suites(
        release,
        mirror=mirror or image.mirror,
        security_mirror=security_mirror or image.security_mirror,
        backports=archive.uses_backports(manifest),
    )
    names = {p.name for p in packages}
    arches = {arch} | {p.architecture for p in packages} - {"all"}
    indices: dict[archive.Suite, Index] = {}
    releases = []
    for suite in suites:
        with log.step(f"Reading {suite.name} from {suite.base_url}"):
            found = _read(fetcher, suite, trust, arches, names, required=suite is suites[0])
        if found is not None:
            releases.append(found[0])
            indices[suite] = found[1]
    updates, missing = compare(packages, indices, reboot_patterns())
    names_read = [s.name for s in indices]
    return UpdateReport(manifest.name, release, arch, names_read, updates, missing, releases)


def render(report: UpdateReport) -> str:
    head = archive.verified_lines(report.releases)
    if not report.updates:
        return "\n".join([*head, f"{report.name}: nothing newer in {', '.join(report.suites)}"])
    rows = [("PACKAGE", "INSTALLED", "NEWER", "SUITE", "FLAGS")]
    for u in report.updates:
        rows.append((f"{u.name}:{u.architecture}", u.installed, u.candidate, u.suite, ",".join(u.flags())))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = head + [
        "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows
    ]
    security = sum(u.security for u in report.updates)
    reboot = sum(bool(u.reboot) for u in report.updates)
    lines.append(f"{report.name}: {len(report.updates)} newer, {security} security, {reboot} need a reboot")
    return "\n".join(line.rstrip() for line in lines)
