"""The generated GitLab pipeline, run by gitlab-ci-local (shell executor) on this machine.

The first test is the proof that the pipeline works: `fai-overlay ci
examples/default.yaml --firmware bios` in a copy of this repository (its
tracked and new files, as a fresh git repository on `main`), then
gitlab-ci-local runs the amd64 build, offline-test and live-boot jobs for
real, one after another: ./setup.sh --ci in each job, a build from the
mirror, the offline checks, one boot in QEMU. The junit files are parsed
here. The other tests run the scheduled pipeline and a matrix build with a
stub fai-overlay, to check what GitLab decides: what runs, what is handed on.

gitlab-ci-local is installed by ./setup.sh; without it these tests fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from overlay.publish import tree
from overlay.publish.tree import Kind
from tests.support import BUILD_ARGS, EXAMPLES, REPO, cli

pytestmark = pytest.mark.integration

TIMEOUT = 45 * 60  # gitlab-ci-local enforces no job timeout
NAME = "debian-trixie-genericcloud-amd64"


def gitlab_ci_local() -> str:
    path = shutil.which("gitlab-ci-local")
    if path is None:
        pytest.fail(
            "gitlab-ci-local is not installed: run ./setup.sh, which installs gitlab-ci-local@4.73.0 "
            "with npm (docs/ci.md)",
            pytrace=False,
        )
    return path


def git_repository(root: Path) -> None:
    """A fresh repository on main without a remote: gitlab-ci-local then needs nothing else."""
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        [
            "git",
            "-c",
            "user.name=fai-overlay",
            "-c",
            "user.email=ci@fai-overlay.invalid",
            "commit",
            "-qm",
            "ci",
        ],
    ):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)


def copy_repository(dest: Path) -> None:
    """This repository's tracked and new files, as the working tree has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src, target = REPO / rel, dest / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)


def run_gcl(
    project: Path, args: list[str], log: Path, env: dict[str, str] | None = None
) -> tuple[int, float]:
    """gitlab-ci-local ARGS in `project`, output to `log`; its process group goes on a timeout."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    argv = [gitlab_ci_local(), "--concurrency", "1", "--no-color", *args]
    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, cwd=project, stdout=out, stderr=subprocess.STDOUT, env={**environ, **(env or {})},
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=120)
            pytest.fail(f"gitlab-ci-local ran over {TIMEOUT}s; see {log}", pytrace=False)
    return proc.returncode, time.monotonic() - t0


def junit_counts(path: Path) -> dict[str, Any]:
    """Tests, failures, errors and suite names of a junit file, read from its test cases."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = [c for s in suites for c in s.iter("testcase")]
    return {
        "tests": len(cases),
        "failures": [c.get("name") for c in cases if c.find("failure") is not None],
        "errors": [c.get("name") for c in cases if c.find("error") is not None],
        "suites": [s.get("name") for s in suites],
    }


def exported(project: Path, rel: str) -> list[Path]:
    """The copies gitlab-ci-local made of a job's artifact (in .gitlab-ci-local/artifacts/<job>/)."""
    return sorted((project / ".gitlab-ci-local" / "artifacts").glob(f"*/{rel}"))


def test_amd64_build_offline_test_and_live_boot_jobs_pass(artifacts: Path) -> None:
    gitlab_ci_local()
    if os.geteuid() != 0:
        pytest.fail("the build, offline-test and live-boot jobs need root", pytrace=False)
    # not pytest's tmp_path: other pytest sessions on the host prune old ones, during these minutes too
    with tempfile.TemporaryDirectory(
        prefix="fai-overlay-gitlab-ci.", dir="/var/tmp", ignore_cleanup_errors=True
    ) as tmp:
        run_the_pipeline(Path(tmp) / "project", artifacts / "gitlab-ci")


def run_the_pipeline(project: Path, keep: Path) -> None:
    copy_repository(project)
    doc_text = cli("ci", "examples/default.yaml", "--firmware", "bios", cwd=project, check=True).stdout
    (project / ".gitlab-ci.yml").write_text(doc_text)
    git_repository(project)
    doc = yaml.safe_load(doc_text)
    build, test, boot = "build default amd64", "offline-test default amd64", "live-boot default amd64"
    assert {build, test, boot} <= set(doc)
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    options = f"BUILD_OPTIONS={' '.join(BUILD_ARGS)}"
    code, seconds = run_gcl(
        project, ["--needs", "--variable", options, test, boot], keep / "gitlab-ci-local.log"
    )
    (keep / "duration.txt").write_text(f"{seconds:.0f} s for {build}, {test}, {boot}\n")
    print(f"gitlab-ci-local: {seconds:.0f} s for the amd64 build, offline-test and live-boot jobs")
    for log in (project / ".gitlab-ci-local" / "output").glob("*.log"):
        shutil.copyfile(log, keep / log.name)
    tail = "\n".join((keep / "gitlab-ci-local.log").read_text().splitlines()[-40:])
    assert code == 0, f"gitlab-ci-local exited {code} after {seconds:.0f}s:\n{tail}"

    # the build job handed the manifest and the qcow2 on, and never a raw image
    for suffix in (".build.json", ".qcow2"):
        assert exported(project, f"out/{NAME}{suffix}"), f"{NAME}{suffix} is not among the artifacts"
    assert not [p for p in (project / ".gitlab-ci-local" / "artifacts").rglob("*.raw")]
    for kind, suites in (("test", ["offline"]), ("boot", ["boot-bios", "live-bios"])):
        reports = [
            project / "out" / f"{NAME}.{kind}.junit.xml",
            *exported(project, f"out/{NAME}.{kind}.junit.xml"),
        ]
        assert len(reports) == 2 and reports[1].is_file(), f"{kind}: the job's junit report is no artifact"
        shutil.copyfile(reports[1], keep / reports[1].name)
        counts = junit_counts(reports[1])
        assert counts["tests"] > 0 and not counts["failures"] and not counts["errors"], counts
        assert counts["suites"] == suites, counts  # one firmware only: --firmware bios


@pytest.fixture
def stub_project(tmp_path: Path) -> Path:
    """examples/ with a stub fai-overlay first in PATH: it logs its calls and writes what jobs keep."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project / "examples")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "fai-overlay"
    stub.write_text(
        """#!/bin/sh
echo "$*" >> "$STUB_CALLS"
case $1 in
  check-updates) exit "$STUB_RC" ;;
  build) mkdir -p out; echo '{}' > "out/debian-trixie-genericcloud-$4.build.json"
         echo qcow2 > "out/debian-trixie-genericcloud-$4.qcow2" ;;
esac
"""
    )
    stub.chmod(0o755)
    return project


def stub_env(project: Path, rc: int = 0) -> dict[str, str]:
    return {
        "PATH": f"{project.parent / 'bin'}:{os.environ['PATH']}",
        "STUB_RC": str(rc),
        "STUB_CALLS": str(project.parent / "calls"),
    }


def calls(project: Path) -> list[str]:
    path = project.parent / "calls"
    return path.read_text().splitlines() if path.is_file() else []


@pytest.mark.parametrize("rc", [0, 10])
def test_the_schedule_rebuilds_and_publishes_only_when_check_updates_says_so(
    stub_project: Path, rc: int
) -> None:
    published = tree.latest_manifest(stub_project / "tree", "trixie", Kind.daily, NAME)
    published.parent.mkdir(parents=True)
    published.write_text("{}")
    args = ["examples/default.yaml", "--no-setup", "--publish-to", str(stub_project / "tree")]
    (stub_project / ".gitlab-ci.yml").write_text(cli("ci", *args, cwd=stub_project, check=True).stdout)
    git_repository(stub_project)
    schedule = [
        "--ignore-predefined-vars",
        "CI_PIPELINE_SOURCE",
        "--variable",
        "CI_PIPELINE_SOURCE=schedule",
    ]
    log = stub_project.parent / "gcl.log"
    code, _ = run_gcl(stub_project, schedule, log, stub_env(stub_project, rc))
    assert code == 0, log.read_text()[-3000:]
    verbs = [c.split()[0] for c in calls(stub_project)]
    if rc == 0:
        assert verbs == ["check-updates"]
        assert "nothing to rebuild" in log.read_text()
    else:
        assert verbs == ["check-updates", "build", "test", "boot", "publish"]
        assert calls(stub_project)[0] == f"check-updates {published}"


def test_a_matrix_build_hands_each_arch_its_own_image(stub_project: Path) -> None:
    args = [
        "examples/default.yaml",
        "--arch",
        "amd64",
        "--arch",
        "arm64",
        "--firmware",
        "uefi",
        "--no-setup",
    ]
    (stub_project / ".gitlab-ci.yml").write_text(cli("ci", *args, cwd=stub_project, check=True).stdout)
    git_repository(stub_project)
    log = stub_project.parent / "gcl.log"
    listed = subprocess.run(
        [gitlab_ci_local(), "--list-json"], cwd=stub_project, capture_output=True, text=True, check=True
    ).stdout
    names = [j["name"] for j in json.loads(listed[listed.index("[") :])]
    assert "build default: [amd64]" in names and "build default: [arm64]" in names
    code, _ = run_gcl(stub_project, ["--needs", "live-boot default arm64"], log, stub_env(stub_project))
    assert code == 0, log.read_text()[-3000:]
    assert calls(stub_project) == [
        "build examples/default.yaml --arch arm64 -o out",
        "boot out/debian-trixie-genericcloud-arm64.qcow2 --overlay-dir examples/hello --firmware uefi",
    ]
    assert exported(stub_project, "out/debian-trixie-genericcloud-arm64.qcow2")
    assert not exported(stub_project, "out/debian-trixie-genericcloud-amd64.qcow2")
