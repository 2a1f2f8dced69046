"""What a build records for its manifest: layer digests and commits, packages, stale Release files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from overlay import __version__
from overlay.compose.merge import Layer, LayerKind
from overlay.compose.overlaydef import FAI_DIRS
from overlay.core.files import sha256_file
from overlay.core.runner import Runner
from overlay.manifest.model import GitInfo, LayerRecord, Package, SourcePackage

CI_VARS = ("CI_JOB_URL", "CI_PIPELINE_ID", "CI_PIPELINE_IID", "CI_COMMIT_SHA", "CI_PROJECT_URL")


def layer_digest(root: Path) -> str:
    """sha256 over every file of the layer's config-space directories: path, mode, content."""
    digest = hashlib.sha256()
    for top in sorted(FAI_DIRS):
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if path.is_symlink():
                    content = "link:" + os.readlink(path)
                else:
                    content = sha256_file(path) + f":{path.stat().st_mode & 0o777:o}"
                digest.update(f"{rel}\0{content}\n".encode())
    return "sha256:" + digest.hexdigest()


def git_info(root: Path, runner: Runner) -> GitInfo | None:
    top = runner.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], check=False)
    if top.returncode != 0:
        return None
    head = runner.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD"], check=False)
    commit = head.stdout.strip() if head.returncode == 0 else ""
    status = runner.run(["git", "-C", str(root), "status", "--porcelain", "--", "."], check=False)
    return GitInfo(top.stdout.strip(), commit or None, bool(status.stdout.strip()))


def layer_records(layers: Sequence[Layer], runner: Runner) -> list[LayerRecord]:
    return [
        LayerRecord(
            name=layer.name,
            kind=layer.kind.value,
            path=str(layer.root),
            digest=layer_digest(layer.root),
            version=__version__ if layer.kind is LayerKind.internal else None,
            git=git_info(layer.root, runner),
        )
        for layer in layers
    ]


def load_packages(state_dir: Path, release: str) -> list[Package]:
    """Packages captured in the build (LAST/05-fai-overlay-capture), each marked with where it came from."""
    raw: list[dict[str, Any]] = json.loads((state_dir / "packages.json").read_text())
    stable = {release, f"{release}-updates", f"{release}-security"}
    out = []
    for pkg in sorted(raw, key=lambda p: (p["name"], p["architecture"])):
        origins = pkg.get("origins", [])
        suites = sorted({o.get("codename") or o.get("suite") or "" for o in origins} - {""})
        out.append(
            Package(
                name=pkg["name"],
                version=pkg["version"],
                architecture=pkg["architecture"],
                source=pkg["source"],
                source_version=pkg["source_version"],
                suites=suites,
                archives=sorted({o.get("suite", "") for o in origins} - {""}),
                not_stable=not suites or not any(s in stable for s in suites),
            )
        )
    return out


def source_packages(packages: Sequence[Package]) -> list[SourcePackage]:
    seen = {(p.source, p.source_version) for p in packages}
    return [SourcePackage(n, v) for n, v in sorted(seen)]


def stale_releases(state_dir: Path) -> list[dict[str, str]]:
    """Release files the build used although their Valid-Until had passed (apt_max_age)."""
    path = state_dir / "releases.json"
    if not path.is_file():
        return []
    now = dt.datetime.now(dt.UTC)
    stale = []
    for release in json.loads(path.read_text()):
        until = release.get("valid_until")
        try:
            if until and parsedate_to_datetime(until) < now:
                stale.append({str(k): str(v) for k, v in release.items()})
        except (TypeError, ValueError):
            continue
    return stale


def ci_info() -> dict[str, str]:
    return {k: os.environ[k] for k in CI_VARS if os.environ.get(k)}
