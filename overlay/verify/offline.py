"""`fai-overlay test IMAGE`: mount the image read-only and run the offline checks."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from overlay.core import commands, disk, junit, log, resources
from overlay.core.errors import BuildFailed, OverlayError
from overlay.core.runner import Runner
from overlay.verify import upstream
from overlay.verify.target import Target, dump_context

VERIFY_DIR = resources.package_path("verify")
# What `fai-overlay test` writes next to the image, each <name><suffix>; the summary is
# the log's .txt (run_pytest). CI jobs (overlay/ci) name their artifacts from these.
REPORT = ".test.junit.xml"
LOG = ".test.log"
SUMMARY = ".test.txt"


@dataclass(frozen=True)
class TestRun:
    ok: bool
    summary: str
    report: Path


def pytest_argv(context: Path, report: Path, paths: list[Path], suite: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-c", str(VERIFY_DIR / "pytest.ini"), "--rootdir", str(VERIFY_DIR),
        "-p", "overlay.verify.plugin", "--fo-context", str(context), f"--junitxml={report}",
        "-o", f"junit_suite_name={suite}", "-q", "-rfEs", "--color=no", *map(str, paths),
    ]  # fmt: skip


@contextlib.contextmanager
def raw_image(target: Target, runner: Runner) -> Iterator[Path]:
    """The raw image; a qcow2 is converted to a temporary raw file first."""
    if target.image.suffix == ".raw":
        yield target.image
        return
    with tempfile.TemporaryDirectory(prefix=".fai-overlay-raw.", dir=target.out_dir) as tmp:
        raw = Path(tmp) / f"{target.name}.raw"
        with log.step("Converting qcow2 to raw for mounting"):
            runner.run(commands.raw_from_qcow2(target.image, raw))
        yield raw


def run_pytest(argv: list[str], runner: Runner, log_path: Path, report: Path, title: str) -> TestRun:
    """Run the checks; their output goes to `log_path`.

    pytest runs in a process group of its own, which the runner stops on Ctrl-C:
    pytest and whatever its tests started (a chroot's programs) end before the
    caller unmounts what they use.
    """
    with log_path.open("w") as log_file:
        returncode = runner.stream(argv, log_file=log_file, grace=10)
    output = log_path.read_text(errors="replace")
    if returncode not in (0, 1) or not report.is_file():
        tail = output.strip().splitlines()[-5:]
        raise OverlayError(
            f"{title} could not run (pytest exit {returncode}): {' | '.join(tail)}",
            hint=f"see {log_path}",
        )
    summary = junit.parse(report).text(title)
    log_path.with_suffix(".txt").write_text(summary)
    return TestRun(returncode == 0, summary, report)


def second_opinion(target: Target, runner: Runner, dci: Path, root: Path, report: Path) -> TestRun:
    """Upstream's system_tests/image on the mounted image, judged against the expected differences."""
    out = target.out_dir
    with tempfile.TemporaryDirectory(prefix="fai-overlay-upstream.") as tmp:
        theirs = Path(tmp) / "upstream.junit.xml"
        result = runner.run(
            upstream.argv(dci, root, theirs), env=upstream.env(dci, target.manifest), check=False
        )
        log_path = out / f"{target.name}.upstream.log"
        log_path.write_text(result.stdout + result.stderr)
        if result.returncode not in (0, 1) or not theirs.is_file():
            tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
            raise OverlayError(
                f"debian-cloud-images' {upstream.TESTS} could not run (pytest exit {result.returncode}): "
                f"{' | '.join(tail)}",
                hint=f"see {log_path}; --no-dci skips the second opinion",
            )
        expected = upstream.expected(target.manifest, target.allow()["upstream"])
        verdict = upstream.judge(list(junit.parse(theirs).cases), expected)
        commit = runner.run(
            ["git", "-C", str(dci), "rev-parse", "--short", "HEAD"], check=False
        ).stdout.strip()
        label = f"debian-cloud-images {commit or dci} {upstream.TESTS} (second opinion)"
        ours = ET.parse(report).getroot()
        junit.write(
            report, [*(ours if ours.tag == "testsuites" else [ours]), *upstream.suites(theirs, verdict)]
        )
    return TestRun(verdict.ok, upstream.summary(verdict, label), report)


def run(target: Target, runner: Runner, dci: Path | None = None) -> TestRun:
    """Offline checks; with a debian-cloud-images checkout `dci`, upstream's image tests beside them."""
    out = target.out_dir
    report = out / f"{target.name}{REPORT}"
    report.unlink(missing_ok=True)
    tests = [VERIFY_DIR / "checks", *target.test_dirs()]
    with (
        raw_image(target, runner) as raw,
        disk.mounted_root(raw, runner) as root,
        tempfile.TemporaryDirectory(prefix="fai-overlay-test.") as tmp,
    ):
        context = Path(tmp) / "context.json"
        dump_context(
            context,
            {
                "mode": "offline",
                "manifest": str(target.manifest_path),
                "expect": target.expect(),
                "root": str(root),
                "image": str(raw),
            },
        )
        with log.step(f"Offline checks of {target.name} ({len(tests)} test directories)"):
            run_ = run_pytest(
                pytest_argv(context, report, tests, "offline"),
                runner,
                out / f"{target.name}{LOG}",
                report,
                f"offline checks of {target.name}",
            )
        if dci is not None:
            with log.step(f"Second opinion: {upstream.TESTS} of {dci}"):
                theirs = second_opinion(target, runner, dci, root, report)
            run_ = TestRun(run_.ok and theirs.ok, run_.summary + theirs.summary, report)
            (out / f"{target.name}.test.txt").write_text(run_.summary)
    log.info(run_.summary.rstrip())
    return run_


def check(target: Target, runner: Runner, dci: Path | None = None, *, use_env: bool = True) -> TestRun:
    """Run the offline checks (and the second opinion, from --dci or $FAI_OVERLAY_DCI); fail if any fails."""
    result = run(target, runner, upstream.checkout(dci, use_env=use_env))
    if not result.ok:
        lines = result.summary.splitlines()
        first = next(
            (ln.strip() for ln in lines if ln.strip().startswith("FAILED")), lines[0] if lines else ""
        )
        raise BuildFailed(
            f"offline checks of {target.name} failed: {first}",
            hint=f"see {target.out_dir / (target.name + SUMMARY)} and {LOG}",
        )
    return result
