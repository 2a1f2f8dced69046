"""The build manifest, <name>.build.json: what went in, what came out, how to redo it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from overlay import __version__
from overlay.compose import Layer, LayerKind, sha256_file
from overlay.config import Arch, BuildType, Format, ImageSpec, Vendor, Waiver
from overlay.overlaydef import FAI_DIRS
from overlay.runner import Runner

API_VERSION = "fai-overlay.debian.org/v1"
MANIFEST_VERSION = 1
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


def git_info(root: Path, runner: Runner) -> dict[str, Any] | None:
    top = runner.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], check=False)
    if top.returncode != 0:
        return None
    head = runner.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD"], check=False)
    commit = head.stdout.strip() if head.returncode == 0 else ""
    status = runner.run(["git", "-C", str(root), "status", "--porcelain", "--", "."], check=False)
    return {"repository": top.stdout.strip(), "commit": commit or None, "dirty": bool(status.stdout.strip())}


def layer_records(layers: Sequence[Layer], runner: Runner) -> list[dict[str, Any]]:
    out = []
    for layer in layers:
        record: dict[str, Any] = {
            "name": layer.name,
            "kind": layer.kind.value,
            "path": str(layer.root),
            "digest": layer_digest(layer.root),
        }
        if layer.kind is LayerKind.internal:
            record["version"] = __version__
        git = git_info(layer.root, runner)
        if git:
            record["git"] = git
        out.append(record)
    return out


def spec_to_json(spec: ImageSpec) -> dict[str, Any]:
    data = dataclasses.asdict(spec)
    data["source"] = str(spec.source) if spec.source else None
    data["overlays"] = [str(p) for p in spec.overlays]
    data["formats"] = [f.value for f in spec.formats]
    data["variables"] = dict(spec.variables)
    for key in ("vendor", "arch", "type"):
        data[key] = getattr(spec, key).value
    return data


def spec_from_json(data: Mapping[str, Any]) -> ImageSpec:
    fields = dict(data)
    fields["source"] = Path(fields["source"]) if fields.get("source") else None
    fields["overlays"] = tuple(Path(p) for p in fields["overlays"])
    fields["formats"] = tuple(Format(f) for f in fields["formats"])
    fields["vendor"], fields["arch"] = Vendor(fields["vendor"]), Arch(fields["arch"])
    fields["type"] = BuildType(fields["type"])
    fields["waivers"] = tuple(Waiver(**w) for w in fields.get("waivers", ()))
    for key in ("classes", "drop_classes"):
        fields[key] = tuple(fields.get(key, ()))
    return ImageSpec(**fields)


def load_packages(state_dir: Path, release: str) -> list[dict[str, Any]]:
    """Packages captured in the build, each marked with where it came from."""
    raw = json.loads((state_dir / "packages.json").read_text())
    stable = {release, f"{release}-updates", f"{release}-security"}
    out = []
    for pkg in sorted(raw, key=lambda p: (p["name"], p["architecture"])):
        origins = pkg.pop("origins", [])
        suites = sorted({o.get("codename") or o.get("suite") or "" for o in origins} - {""})
        archives = sorted({o.get("suite", "") for o in origins} - {""})
        pkg["suites"] = suites
        pkg["archives"] = archives
        pkg["not_stable"] = not suites or not any(s in stable for s in suites)
        out.append(pkg)
    return out


def source_packages(packages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    seen = {(p["source"], p["source_version"]) for p in packages}
    return [{"name": n, "version": v} for n, v in sorted(seen)]


def stale_releases(state_dir: Path) -> list[dict[str, str]]:
    """Release files the build used although their Valid-Until had passed (apt_max_age)."""
    import datetime as dt
    from email.utils import parsedate_to_datetime

    path = state_dir / "releases.json"
    if not path.is_file():
        return []
    now = dt.datetime.now(dt.UTC)
    stale = []
    for release in json.loads(path.read_text()):
        until = release.get("valid_until")
        try:
            if until and parsedate_to_datetime(until) < now:
                stale.append(release)
        except (TypeError, ValueError):
            continue
    return stale


def ci_info() -> dict[str, str]:
    return {k: os.environ[k] for k in CI_VARS if os.environ.get(k)}


def write(path: Path, document: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def load(path: Path) -> dict[str, Any]:
    from overlay.errors import OverlayError

    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise OverlayError("manifest not found", path=path) from None
    except json.JSONDecodeError as exc:
        raise OverlayError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if data.get("kind") != "Build" or data.get("apiVersion") != API_VERSION:
        raise OverlayError(
            "not a fai-overlay build manifest",
            path=path,
            hint="pass the <name>.build.json written by 'fai-overlay build'",
        )
    return data
