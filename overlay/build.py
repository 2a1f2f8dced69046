"""`fai-overlay build`: compose, run fai-diskimage, judge, convert, record, hand over."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay import __version__, compose, disk, faistatus, hostsetup, log, manifest, outputs
from overlay.errors import BuildFailed
from overlay.faiprogress import FaiProgress
from overlay.plan import Plan
from overlay.runner import Runner

FAI_LOG_ROOT = Path("/var/log/fai/debian")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class BuildResult:
    name: str
    manifest: Path
    outputs: tuple[Path, ...]
    seconds: float


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def prepare_work_dir(plan: Plan, runner: Runner) -> None:
    """A fresh work directory; leftovers of an interrupted build are cleaned first."""
    if plan.work_dir.exists():
        for what in disk.cleanup_image(plan.raw, runner):
            log.info(f"cleaned up after an earlier, interrupted build: {what}")
        shutil.rmtree(plan.work_dir)
    plan.state_dir.mkdir(parents=True)


def prepare_apt(plan: Plan) -> None:
    """Build-only apt settings on /dev/shm: visible in the chroot, never in the image."""
    if plan.apt_dir.exists():
        shutil.rmtree(plan.apt_dir)
    plan.apt_dir.mkdir(parents=True)
    plan.apt_dir.chmod(0o755)  # apt downloads as the _apt user
    # apt-get clean must not delete the file FAI's package name check looks for
    lines = ['Dir::Cache::pkgcache "fai-overlay-pkgcache.bin";']
    if plan.spec.host_ca and HOST_CA.is_file():
        shutil.copyfile(HOST_CA, plan.apt_dir / "ca.crt")
        lines.append(f'Acquire::https::CaInfo "{plan.apt_dir / "ca.crt"}";')
    if plan.spec.apt_proxy:
        lines.append(f'Acquire::http::Proxy "{plan.spec.apt_proxy}";')
    if plan.spec.apt_max_age:
        # a Release file counts as valid until its Date plus this, whatever its Valid-Until says
        lines.append(f'Acquire::Min-ValidTime "{plan.spec.apt_max_age * 86400}";')
    (plan.apt_dir / "apt.conf").write_text("\n".join(lines) + "\n")


def run_fai(plan: Plan, runner: Runner, log_path: Path) -> tuple[int, list[str], dict[str, float]]:
    lines: list[str] = []
    progress = FaiProgress()

    def on_line(line: str) -> None:
        lines.append(line)
        progress.feed(line)

    hostsetup.wait_for_new_second()
    with log.step("Running fai-diskimage"), log_path.open("a") as handle:
        handle.write(f"# {' '.join(plan.argv)}\n")
        handle.flush()
        try:
            rc = runner.stream(plan.argv, env=plan.env, log_file=handle, on_line=on_line)
        finally:
            progress.close()
    return rc, lines, progress.timings


def collect_fai_logs(plan: Plan, lines: list[str], log_path: Path) -> Path | None:
    """Copy FAI's log directory into the output and append its logs to the build log."""
    name = faistatus.log_dir_name(lines)
    if name is None or not (FAI_LOG_ROOT / name).is_dir():
        return None
    dest = plan.out_dir / f"{plan.name}.fai-logs"
    outputs.copy_tree(FAI_LOG_ROOT / name, dest)
    with log_path.open("a") as handle:
        for extra in ("status.log", "scripts.log"):
            if (dest / extra).is_file():
                handle.write(f"\n# ===== FAI {extra} =====\n{(dest / extra).read_text(errors='replace')}")
    return dest


def fail(plan: Plan, reasons: list[str], log_path: Path, started: str) -> BuildFailed:
    """Leave logs and a record of the failure, and no image that could look good."""
    failed = plan.out_dir / f"{plan.name}.build.failed.json"
    manifest.write(
        failed,
        {
            "name": plan.name,
            "started": started,
            "finished": _now(),
            "reasons": reasons,
            "log": str(log_path),
        },
    )
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(plan.work_dir)
    return BuildFailed(
        f"build of {plan.name} failed: {'; '.join(reasons)}",
        hint=f"see {log_path} and {plan.out_dir / (plan.name + '.fai-logs')}",
    )


def build(plan: Plan, runner: Runner) -> BuildResult:
    hostsetup.require_root("build")
    hostsetup.require_build_tools()
    hostsetup.ensure_binfmt(plan.spec.arch, runner)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    with hostsetup.build_lock():
        return _locked_build(plan, runner)


def _locked_build(plan: Plan, runner: Runner) -> BuildResult:
    t0, started = time.monotonic(), _now()
    log_path = plan.out_dir / f"{plan.name}.build.log"
    log_path.write_text(f"# fai-overlay {__version__} build of {plan.name}, started {started}\n")
    try:
        prepare_work_dir(plan, runner)
        compose.compose(plan.layers, plan.cspace, plan.variables(), plan.class_names())
        prepare_apt(plan)
        rc, lines, timings = 1, [], {}
        try:
            rc, lines, timings = run_fai(plan, runner, log_path)
        finally:
            logs = collect_fai_logs(plan, lines, log_path)
            nodes = logs / "fai-overlay-created-nodes" if logs else None
            for what in disk.cleanup_image(plan.raw, runner, created_nodes=nodes):
                log.warn(f"cleanup: {what}")
            shutil.rmtree(plan.apt_dir, ignore_errors=True)
        verdict = _judge(plan, rc, lines, logs)
        if not verdict.ok:
            raise fail(plan, verdict.failures, log_path, started)
        return _finish(plan, runner, verdict, timings, logs, started, t0)
    except KeyboardInterrupt:
        fail(plan, ["interrupted (Ctrl-C)"], log_path, started)
        raise
    except BaseException:
        shutil.rmtree(plan.work_dir, ignore_errors=True)
        shutil.rmtree(plan.apt_dir, ignore_errors=True)
        raise


def _judge(plan: Plan, rc: int, lines: list[str], logs: Path | None) -> faistatus.Verdict:
    status = (
        (logs / "status.log").read_text(errors="replace") if logs and (logs / "status.log").is_file() else ""
    )
    junit = plan.work_dir / f"{plan.name}.build.junit.xml"
    verdict = faistatus.judge(
        returncode=rc,
        status_text=status,
        log_lines=lines,
        state_dir=plan.state_dir,
        junit=junit,
        waivers=plan.spec.waivers,
    )
    for item in verdict.excused:
        log.info(f"ignored FAI status {item['name']} (exit {item['exit_code']}): {item['reason']}")
    for item in verdict.waived:
        log.warn(f"in-build test {item['test']} failed and is waived: {item['reason']}")
    if verdict.ok and not (plan.state_dir / "packages.json").is_file():
        verdict.failures.append("the package capture (LAST/05-fai-overlay-capture) did not run")
    if verdict.ok and not plan.raw.is_file():
        verdict.failures.append(f"fai-diskimage wrote no image at {plan.raw}")
    return verdict


def _finish(
    plan: Plan,
    runner: Runner,
    verdict: faistatus.Verdict,
    timings: dict[str, float],
    logs: Path | None,
    started: str,
    t0: float,
) -> BuildResult:
    esp = plan.state_dir / "esp.json"
    if esp.is_file():
        count = len(json.loads(esp.read_text())["files"])
        log.info(
            f"the ESP was empty (this host cannot mount vfat); fai-overlay filled it with "
            f"mtools ({count} files)"
        )
    for release in manifest.stale_releases(plan.state_dir):
        log.warn(
            f"apt used {release['file']}, expired on {release['valid_until']} "
            f"(accepted: apt_max_age is {plan.spec.apt_max_age} days)"
        )
    images = outputs.convert(plan.raw, plan.spec.formats, runner)
    if plan.raw not in images:
        plan.raw.unlink()
    doc = _manifest(plan, runner, verdict, timings, logs, started, t0, images)
    work = plan.work_dir
    files = [*images]
    for suffix in (".build.junit.xml", ".info"):
        if (work / f"{plan.name}{suffix}").is_file():
            files.append(work / f"{plan.name}{suffix}")
    shutil.copyfile(work / "compose.json", work / f"{plan.name}.compose.json")
    files.append(work / f"{plan.name}.compose.json")
    (work / f"{plan.name}.rebuild").write_text(rebuild_script(plan))
    (work / f"{plan.name}.rebuild").chmod(0o755)
    files.append(work / f"{plan.name}.rebuild")
    manifest.write(work / f"{plan.name}.build.json", doc)
    files.append(work / f"{plan.name}.build.json")
    moved = outputs.hand_over(work, plan.out_dir, plan.name, files)
    shutil.rmtree(work)
    return BuildResult(
        plan.name,
        plan.out_dir / f"{plan.name}.build.json",
        tuple(p for p in moved if p.name.endswith(outputs.IMAGE_SUFFIXES)),
        time.monotonic() - t0,
    )


def _manifest(
    plan: Plan,
    runner: Runner,
    verdict: faistatus.Verdict,
    timings: dict[str, float],
    logs: Path | None,
    started: str,
    t0: float,
    images: list[Path],
) -> dict[str, Any]:
    packages = manifest.load_packages(plan.state_dir, plan.spec.release)
    return {
        "apiVersion": manifest.API_VERSION,
        "kind": "Build",
        "manifest_version": manifest.MANIFEST_VERSION,
        "name": plan.name,
        "image": manifest.spec_to_json(plan.spec),
        "base": {
            "kind": plan.base.kind.value,
            "config_space": str(plan.base.config_space),
            "checkout": str(plan.base.checkout) if plan.base.checkout else None,
        },
        "classes": plan.class_names(),
        "layers": manifest.layer_records(plan.layers, runner),
        "fai": {
            "version": hostsetup.fai_version(runner),
            "argv": list(plan.argv),
            "env": dict(sorted(plan.env.items())),
            "log_dir": str(logs) if logs else None,
            "task_seconds": {k: round(v, 1) for k, v in timings.items()},
        },
        "build": {
            "started": started,
            "finished": _now(),
            "seconds": round(time.monotonic() - t0, 1),
            "host": platform.node(),
            "fai_overlay_version": __version__,
            "ci": manifest.ci_info(),
        },
        "checks": _checks(plan, verdict),
        "packages": packages,
        "source_packages": manifest.source_packages(packages),
        "outputs": outputs.describe(images),
    }


def _checks(plan: Plan, verdict: faistatus.Verdict) -> dict[str, Any]:
    """What was excused, waived, repaired or noticed during the build."""
    esp = plan.state_dir / "esp.json"
    return {
        "excused_fai_failures": verdict.excused,
        "waived_tests": verdict.waived,
        "in_build_tests": verdict.tests,
        "esp_filled_by_fai_overlay": json.loads(esp.read_text()) if esp.is_file() else None,
        "stale_release_files": manifest.stale_releases(plan.state_dir),
    }


def rebuild_script(plan: Plan) -> str:
    return f"""#!/bin/sh
# Rebuild {plan.name} from the same inputs, with fai-overlay {__version__}.
# It refuses to run when a layer changed since (its digest is in the manifest);
# the exact fai-diskimage command and environment are under "fai" there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec fai-overlay build --from-manifest "$here/{plan.name}.build.json" -o "${{1:-$here}}"
"""
