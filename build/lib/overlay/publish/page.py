"""The results page: TREE/index.html, one card per published image, rendered with jinja2."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from overlay.core import junit
from overlay.core.errors import OverlayError
from overlay.manifest import model
from overlay.publish import diff, retention, tree
from overlay.publish.tree import Kind

SUITES = {"test": "offline tests", "boot": "live boot tests", "build": "in-build tests"}
ALWAYS = ("test", "boot")  # shown as "not run" when missing; other suites only when present
MAX_DIFF_LINES = 60


@dataclass
class FileView:
    label: str
    href: str
    size: str
    sha512: str


@dataclass
class TestView:
    key: str
    label: str
    status: str
    summary: str
    href: str | None = None
    problems: list[junit.Case] = field(default_factory=list)


@dataclass
class ImageView:
    name: str
    stem: str
    base: str
    files: list[FileView]
    manifest_href: str
    packages: int
    not_stable: list[str]
    previous: str | None
    diff_reasons: list[str]
    diff_lines: list[str]
    tests: list[TestView]
    logs: list[tuple[str, str]]


@dataclass
class VersionView:
    release: str
    kind: str
    version: str
    href: str
    published: str
    images: list[ImageView]


@dataclass
class ReleaseView:
    name: str
    versions: list[VersionView]
    hidden: int
    latest: list[tuple[str, str]]  # (label, href) of the `latest` links that exist


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def read_sums(version_dir: Path) -> dict[str, str]:
    path = version_dir / tree.SUMS
    if not path.is_file():
        return {}
    return {rel: h for h, _, rel in (line.partition("  ") for line in path.read_text().splitlines())}


def _tests(version_dir: Path, base: str, junits: Mapping[str, str]) -> list[TestView]:
    out = []
    for key in [*ALWAYS, *sorted(k for k in junits if k not in ALWAYS)]:
        label = SUITES.get(key, f"{key} tests")
        if key not in junits:
            out.append(TestView(key, label, "missing", "no results published"))
            continue
        summary = junit.parse(version_dir / junits[key])
        text = (
            f"unreadable: {summary.error}"
            if summary.error
            else f"{summary.count('passed')} passed, {len(summary.problems)} failed, "
            f"{summary.count('skipped')} skipped"
        )
        out.append(TestView(key, label, summary.status, text, base + junits[key], summary.problems))
    return out


def _diff_lines(result: diff.ManifestDiff) -> list[str]:
    lines = diff.render(result).splitlines()[2:-1]
    return lines[:MAX_DIFF_LINES] + (
        [f"… {len(lines) - MAX_DIFF_LINES} more"] if len(lines) > MAX_DIFF_LINES else []
    )


def image_view(
    version_dir: Path,
    base: str,
    record: Mapping[str, Any],
    doc: model.BuildManifest | None,
    prev: tuple[str, model.BuildManifest | None] | None,
) -> ImageView:
    sums = read_sums(version_dir)
    files = []
    for label, name in [*record.get("files", {}).items(), ("json", record["manifest"])]:
        path = version_dir / name
        if path.is_file():
            files.append(FileView(label, base + name, human_size(path.stat().st_size), sums.get(name, "")))
    result = diff.compare(prev[1], doc) if prev and prev[1] and doc else None
    logs = [(key, base + href) for key, href in record.get("logs", {}).items()]
    return ImageView(
        name=record["name"],
        stem=record["stem"],
        base=base,
        files=files,
        manifest_href=base + record["manifest"],
        packages=len(doc.packages) if doc else 0,
        not_stable=[
            f"{p.name} ({', '.join(p.suites or ['no suite'])})"
            for p in (doc.packages if doc else [])
            if p.not_stable
        ],
        previous=prev[0] if prev else None,
        diff_reasons=result.reasons() if result else [],
        diff_lines=_diff_lines(result) if result and result.differs else [],
        tests=_tests(version_dir, base, record.get("junit", {})),
        logs=logs,
    )


def _kind_views(
    root: Path, release: str, kind: Kind, today: dt.date, policy: retention.Policy
) -> tuple[list[VersionView], int]:
    directory = tree.kind_dir(root, release, kind)
    views: list[VersionView] = []
    last: dict[str, tuple[str, model.BuildManifest | None]] = {}
    hidden = 0
    for version in tree.versions(directory):
        vdir = directory / str(version)
        record = tree.read_record(vdir)
        base = vdir.relative_to(root).as_posix() + "/"
        images = []
        for image in record.get("images", []):
            path = vdir / image["manifest"]
            doc = model.load(path) if path.is_file() else None
            images.append(image_view(vdir, base, image, doc, last.get(image["name"])))
            last[image["name"]] = (str(version), doc)
        if retention.is_hidden(kind, version, today, policy):
            hidden += 1
            continue
        views.append(
            VersionView(release, kind.value, str(version), base, record.get("published", ""), images)
        )
    return list(reversed(views)), hidden


def collect(root: Path, today: dt.date, policy: retention.Policy) -> list[ReleaseView]:
    out = []
    for release in tree.releases(root):
        versions, hidden, latest = [], 0, []
        for kind in (Kind.release, Kind.daily):
            views, n = _kind_views(root, release, kind, today, policy)
            versions += views
            hidden += n
            link = tree.kind_dir(root, release, kind) / tree.LATEST
            if link.is_symlink():
                latest.append((f"latest {kind.value}", link.relative_to(root).as_posix() + "/"))
        out.append(ReleaseView(release, versions, hidden, latest))
    return out


def render(root: Path, today: dt.date, policy: retention.Policy) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("overlay.publish", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        template = env.get_template("index.html.j2")
    except jinja2.TemplateError as exc:
        raise OverlayError(f"results page template: {exc}") from None
    return template.render(releases=collect(root, today, policy), today=today.isoformat(), policy=policy)


def write(root: Path, today: dt.date, policy: retention.Policy) -> Path:
    """Render TREE/index.html (through a temporary file, so readers never see half a page)."""
    target = root / "index.html"
    tmp = root / ".index.html.tmp"
    tmp.write_text(render(root, today, policy))
    tmp.chmod(0o644)
    os.replace(tmp, target)
    return target
