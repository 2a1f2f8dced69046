"""`fai-overlay build`: compose, run fai-diskimage, judge, convert, record, hand over.

A build works in `<out>/.<name>.partial` and moves its files into `<out>` only
when everything succeeded; the manifest moves last. On failure or Ctrl-C it
leaves `<name>.build.failed.json` and the log, never an image.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from overlay import __version__
from overlay.build import cache, environment, faistatus, hostsetup, outputs
from overlay.build.faiprogress import FaiProgress
from overlay.build.plan import Plan
from overlay.compose import write
from overlay.core import disk, log
from overlay.core.errors import BuildFailed
from overlay.core.runner import Runner
from overlay.manifest import model, record


@dataclass(frozen=True)
class BuildResult:
    name: str
    manifest: Path
    outputs: tuple[Path, ...]
    seconds: float


@dataclass
class FaiRun:
    """What fai-diskimage did: exit code, output lines, task timings, its log directory."""

    returncode: int = 1
    lines: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    logs: Path | None = None


@dataclass
class BuildRun:
    """One build in progress: its plan and runner, and what each step learned."""

    plan: Plan
    runner: Runner
    started: str = field(default_factory=lambda: now())
    t0: float = field(default_factory=time.monotonic)
    fai: FaiRun = field(default_factory=FaiRun)
    verdict: faistatus.Verdict = field(default_factory=faistatus.Verdict)
    cache: cache.CacheRun | None = None

    @property
    def proxy(self) -> str | None:
        """The proxy apt and debootstrap use in the build: the package cache, or apt_proxy."""
        return self.cache.url if self.cache else self.plan.spec.apt_proxy

    @property
    def log_path(self) -> Path:
        return self.plan.out_dir / f"{self.plan.name}{outputs.BUILD_LOG}"

    def work_file(self, suffix: str) -> Path:
        return self.plan.work_dir / f"{self.plan.name}{suffix}"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def prepare_work_dir(run: BuildRun) -> None:
    """A fresh work directory; leftovers of an interrupted build are cleaned first."""
    plan = run.plan
    if plan.work_dir.exists():
        for what in disk.cleanup_image(plan.raw, run.runner):
            log.info(f"cleaned up after an earlier, interrupted build: {what}")
        shutil.rmtree(plan.work_dir)
    plan.state_dir.mkdir(parents=True)


def prepare_apt(run: BuildRun) -> None:
    """Build-only apt settings on /dev/shm: visible in the chroot, never in the image."""
    plan = run.plan
    if plan.apt_dir.exists():
        shutil.rmtree(plan.apt_dir)
    plan.apt_dir.mkdir(parents=True)
    plan.apt_dir.chmod(0o755)  # apt downloads as the _apt user
    # apt-get clean must not delete the file FAI's package name check looks for
    lines = ['Dir::Cache::pkgcache "fai-overlay-pkgcache.bin";']
    if plan.spec.host_ca and plan.host.host_ca.is_file():
        shutil.copyfile(plan.host.host_ca, plan.apt_dir / "ca.crt")
        lines.append(f'Acquire::https::CaInfo "{plan.apt_dir / "ca.crt"}";')
    if run.proxy:
        lines.append(f'Acquire::http::Proxy "{run.proxy}";')
    if plan.spec.apt_max_age:
        # a Release file counts as valid until its Date plus this, whatever its Valid-Until says
        lines.append(f'Acquire::Min-ValidTime "{plan.spec.apt_max_age * 86400}";')
    (plan.apt_dir / "apt.conf").write_text("\n".join(lines) + "\n")


def run_fai(run: BuildRun) -> None:
    """fai-diskimage with only the allow-listed environment; its output, scrubbed, goes to the build log."""
    plan, progress, redactor = run.plan, FaiProgress(), environment.redactor(run.plan)
    hostsetup.wait_for_new_second(plan.host.fai_logs)
    with log.step("Running fai-diskimage"), run.log_path.open("a") as handle:
        handle.write(f"# {' '.join(plan.argv)}\n")

        def on_line(line: str) -> None:
            run.fai.lines.append(line)
            handle.write(redactor.text(line) + "\n")
            handle.flush()
            progress.feed(line)

        env = environment.for_fai(plan, proxy=run.cache.url if run.cache else None)
        try:
            run.fai.returncode = run.runner.stream(plan.argv, env=env, on_line=on_line, inherit=False)
        finally:
            run.fai.timings = progress.close()


def collect_fai_logs(run: BuildRun) -> None:
    """Copy FAI's logs (the known ones, scrubbed) into the output and append two to the build log."""
    plan = run.plan
    name = faistatus.log_dir_name(run.fai.lines)
    if name is None or not (plan.host.fai_logs / name).is_dir():
        return
    dest = plan.out_dir / f"{plan.name}{outputs.FAI_LOG_DIR}"
    given = environment.for_fai(plan, proxy=run.cache.url if run.cache else None)

    def scrub(log_name: str, text: str) -> str:
        if log_name == "variables.log":
            text = environment.scrub_variables(text, given)
        return environment.redactor(plan).text(text)

    outputs.copy_logs(plan.host.fai_logs / name, dest, scrub)
    run.fai.logs = dest
    with run.log_path.open("a") as handle:
        for extra in ("status.log", "scripts.log"):
            if (dest / extra).is_file():
                handle.write(f"\n# ===== FAI {extra} =====\n{(dest / extra).read_text(errors='replace')}")


def release_host(run: BuildRun) -> None:
    """Whatever fai-diskimage left attached or mounted, and the build-only apt settings, go."""
    nodes = run.fai.logs / "fai-overlay-created-nodes" if run.fai.logs else None
    for what in disk.cleanup_image(run.plan.raw, run.runner, created_nodes=nodes):
        log.warn(f"cleanup: {what}")
    for loop in disk.wait_released(run.plan.raw, run.runner):
        log.warn(f"cleanup: {loop} is still bound to {run.plan.raw} (something holds it open)")
    shutil.rmtree(run.plan.apt_dir, ignore_errors=True)


def judge(run: BuildRun) -> faistatus.Verdict:
    plan, logs = run.plan, run.fai.logs
    status = (
        (logs / "status.log").read_text(errors="replace") if logs and (logs / "status.log").is_file() else ""
    )
    verdict = faistatus.judge(
        returncode=run.fai.returncode,
        status_text=status,
        log_lines=run.fai.lines,
        state_dir=plan.state_dir,
        junit_report=run.work_file(outputs.BUILD_JUNIT),
        waivers=plan.spec.waivers,
    )
    for excuse in verdict.excused:
        log.info(f"ignored FAI status {excuse.name} (exit {excuse.exit_code}): {excuse.reason}")
    for waived in verdict.waived:
        log.warn(f"in-build test {waived.test} failed and is waived: {waived.reason}")
    if verdict.ok and not (plan.state_dir / "packages.json").is_file():
        verdict.failures.append("the package capture (LAST/05-fai-overlay-capture) did not run")
    if verdict.ok and not plan.raw.is_file():
        verdict.failures.append(f"fai-diskimage wrote no image at {plan.raw}")
    run.verdict = verdict
    return verdict


def fail(run: BuildRun, reasons: list[str]) -> BuildFailed:
    """Leave logs and a record of the failure, and no image that could look good."""
    plan = run.plan
    failed = model.FailedBuild(plan.name, run.started, now(), reasons, str(run.log_path))
    model.write(plan.out_dir / f"{plan.name}{outputs.FAILED}", failed)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(plan.work_dir)
    return BuildFailed(
        f"build of {plan.name} failed: {'; '.join(reasons)}",
        hint=f"see {run.log_path} and {plan.out_dir / (plan.name + outputs.FAI_LOG_DIR)}",
    )


def build(plan: Plan, runner: Runner) -> BuildResult:
    """Check the host, take the host's build lock, and build."""
    hostsetup.require_root("build")
    hostsetup.require_build_tools()
    hostsetup.ensure_binfmt(plan.spec.arch, runner)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    with hostsetup.build_lock(plan.host):
        return execute(BuildRun(plan, runner))


def execute(run: BuildRun) -> BuildResult:
    """The build itself, under the lock: every step, and the cleanup on any way out."""
    plan = run.plan
    run.log_path.write_text(f"# fai-overlay {__version__} build of {plan.name}, started {run.started}\n")
    try:
        prepare_work_dir(run)
        write.compose(plan.layers, plan.cspace, plan.variables(), plan.class_names())
        spec = plan.spec
        with cache.running(spec.cache, spec.cache_dir, spec.apt_proxy, run.runner) as run.cache:
            prepare_apt(run)
            try:
                run_fai(run)
            finally:
                collect_fai_logs(run)
                release_host(run)
        verdict = judge(run)
        if not verdict.ok:
            raise fail(run, verdict.failures)
        return finish(run)
    except KeyboardInterrupt:
        fail(run, ["interrupted (Ctrl-C)"])
        raise
    except BaseException:
        shutil.rmtree(plan.work_dir, ignore_errors=True)
        shutil.rmtree(plan.apt_dir, ignore_errors=True)
        raise


def _report_repairs(run: BuildRun) -> None:
    esp = run.plan.state_dir / "esp.json"
    if esp.is_file():
        count = len(json.loads(esp.read_text())["files"])
        log.info(f"the ESP was empty (this host cannot mount vfat); fai-overlay filled it ({count} files)")
    for release in record.stale_releases(run.plan.state_dir):
        log.warn(
            f"apt used {release['file']}, expired on {release.get('valid_until')} "
            f"(accepted: apt_max_age is {run.plan.spec.apt_max_age} days)"
        )


def finish(run: BuildRun) -> BuildResult:
    """Convert, write the manifest and side files, and hand everything over in one step."""
    plan = run.plan
    _report_repairs(run)
    images = outputs.convert(plan.raw, plan.spec.formats, run.runner)
    if plan.raw not in images:
        plan.raw.unlink()
    files = [*images]
    files += [p for p in (run.work_file(outputs.BUILD_JUNIT), run.work_file(outputs.INFO)) if p.is_file()]
    shutil.copyfile(plan.work_dir / "compose.json", run.work_file(outputs.COMPOSE))
    files.append(run.work_file(outputs.COMPOSE))
    run.work_file(outputs.REBUILD).write_text(rebuild_script(plan))
    run.work_file(outputs.REBUILD).chmod(0o755)
    files.append(run.work_file(outputs.REBUILD))
    model.write(run.work_file(outputs.MANIFEST), manifest(run, images))
    files.append(run.work_file(outputs.MANIFEST))
    moved = outputs.hand_over(plan.work_dir, plan.out_dir, plan.name, files)
    shutil.rmtree(plan.work_dir)
    return BuildResult(
        plan.name,
        plan.out_dir / f"{plan.name}{outputs.MANIFEST}",
        tuple(p for p in moved if p.name.endswith(outputs.IMAGE_SUFFIXES)),
        time.monotonic() - run.t0,
    )


def manifest(run: BuildRun, images: list[Path]) -> model.BuildManifest:
    plan, verdict = run.plan, run.verdict
    packages = record.load_packages(plan.state_dir, plan.spec.release)
    esp = plan.state_dir / "esp.json"
    return model.BuildManifest(
        name=plan.name,
        image=plan.spec,
        base=model.BaseRecord(
            plan.base.kind.value,
            str(plan.base.config_space),
            str(plan.base.checkout) if plan.base.checkout else None,
        ),
        classes=plan.class_names(),
        layers=record.layer_records(plan.layers, run.runner),
        fai=model.FaiRecord(
            version=hostsetup.fai_version(run.runner),
            argv=list(plan.argv),
            env=environment.redactor(plan).env(
                {**plan.shown_env(), **({"http_proxy": run.cache.url} if run.cache else {})}
            ),
            log_dir=str(run.fai.logs) if run.fai.logs else None,
            task_seconds={k: round(v, 1) for k, v in run.fai.timings.items()},
        ),
        build=model.BuildInfo(
            started=run.started,
            finished=now(),
            seconds=round(time.monotonic() - run.t0, 1),
            host=platform.node(),
            fai_overlay_version=__version__,
            ci=record.ci_info(),
        ),
        checks=model.Checks(
            excused_fai_failures=verdict.excused,
            waived_tests=verdict.waived,
            in_build_tests=verdict.tests,
            esp_filled_by_fai_overlay=model.EspFill(**json.loads(esp.read_text()))
            if esp.is_file()
            else None,
            stale_release_files=record.stale_releases(plan.state_dir),
            package_cache=run.cache.use if run.cache else None,
        ),
        packages=packages,
        source_packages=record.source_packages(packages),
        outputs=outputs.describe(images),
    )


def rebuild_script(plan: Plan) -> str:
    return f"""#!/bin/sh
# Rebuild {plan.name} from the same inputs, with fai-overlay {__version__}.
# It refuses to run when a layer changed since (its digest is in the manifest);
# the exact fai-diskimage command and environment are under "fai" there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec fai-overlay build --from-manifest "$here/{plan.name}{outputs.MANIFEST}" -o "${{1:-$here}}"
"""
