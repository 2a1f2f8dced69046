"""`fai-overlay ci`: the generated GitLab pipeline's structure, and one-line errors for bad input.

The pipeline comes from the real command line (parser, loader, generator,
YAML dump) and is read back with yaml.safe_load. Artifact paths are checked
against the constants of the stages that write the files; the scheduled job's
shell script runs here under bash with a stub fai-overlay.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from overlay.build import outputs
from overlay.ci import jobs, schedule
from overlay.cli.main import main
from overlay.core import arches
from overlay.core.errors import ExitCode
from overlay.publish import tree
from overlay.publish.tree import Kind
from overlay.verify import live, offline
from overlay.verify.target import resolve
from tests.fixtures import publishkit as kit
from tests.support import REPO

NAME = "debian-trixie-genericcloud-amd64"  # examples/default.yaml


def generate(capsys: pytest.CaptureFixture[str], *args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(["ci", *args])
    finally:
        os.chdir(here)
    out, err = capsys.readouterr()
    return code, out, err


def pipeline(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = generate(capsys, *args)
    assert code == 0, err
    doc: dict[str, Any] = yaml.safe_load(out)
    return doc


def job_names(doc: dict[str, Any]) -> list[str]:
    return [k for k, v in doc.items() if isinstance(v, dict) and "stage" in v]


def out(suffix: str, name: str = NAME) -> str:
    return f"{jobs.OUT}/{name}{suffix}"


def test_one_build_test_and_boot_job_per_image_and_the_stages_they_need(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml", "--firmware", "bios")
    assert doc["stages"] == ["check", "build", "offline-test", "live-boot", "publish"]
    names = job_names(doc)
    assert names == [
        "check-updates", "rebuild", "build default amd64", "offline-test default amd64",
        "live-boot default amd64", "publish",
    ]  # fmt: skip
    for name in names:
        assert doc[name]["stage"] in doc["stages"], name
        for need in doc[name].get("needs", []):
            assert (need["job"] if isinstance(need, dict) else need) in names, (name, need)
    assert doc["offline-test default amd64"]["needs"] == [{"job": "build default amd64"}]
    assert doc["live-boot default amd64"]["needs"] == [{"job": "build default amd64"}]
    assert "needs" not in doc["publish"]  # after every earlier stage, with all their artifacts


def test_artifacts_are_the_files_each_job_writes_and_never_a_raw_image(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml", "--firmware", "bios")
    build = doc["build default amd64"]["artifacts"]
    assert build["paths"] == [
        out(outputs.MANIFEST), out(outputs.FAILED), out(outputs.BUILD_LOG), out(outputs.FAI_LOG_DIR) + "/",
        out(outputs.BUILD_JUNIT), out(outputs.COMPOSE), out(outputs.REBUILD), out(".qcow2"),
    ]  # fmt: skip
    test = doc["offline-test default amd64"]["artifacts"]
    assert test["paths"] == [out(offline.REPORT), out(offline.LOG), out(offline.SUMMARY)]
    boot = doc["live-boot default amd64"]["artifacts"]
    assert boot["paths"] == [
        out(live.REPORT), out(live.SUMMARY), out(live.TIMINGS),
        out(live.console_log("bios")), out(live.checks_log("bios")),
    ]  # fmt: skip
    for artifacts, junit in ((build, outputs.BUILD_JUNIT), (test, offline.REPORT), (boot, live.REPORT)):
        # gitlab-ci-local keeps only files in paths, and GitLab shows the report in the merge request
        assert artifacts["reports"]["junit"] == out(junit) and out(junit) in artifacts["paths"]
        assert artifacts["when"] == "always" and artifacts["expire_in"]
        assert not [p for p in artifacts["paths"] if p.endswith(".raw")]
    # the test and boot jobs read the image the build job keeps, and the overlays in their own checkout
    image, here = out(".qcow2"), "--overlay-dir examples/hello"
    assert doc["offline-test default amd64"]["script"] == [f"fai-overlay test {image} {here}"]
    assert doc["live-boot default amd64"]["script"] == [f"fai-overlay boot {image} {here} --firmware bios"]
    assert doc["build default amd64"]["variables"] == {"ARCH": "amd64"}
    assert doc["build default amd64"]["script"] == [
        'fai-overlay build examples/default.yaml --arch "$ARCH" -o out $BUILD_OPTIONS'
    ]


def test_an_overlay_outside_the_project_is_refused(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples/hello", tmp_path / "hello")
    project.mkdir()
    (project / "image.yaml").write_text("overlays: [../hello]\nformats: [qcow2]\n")
    code, _, err = generate(capsys, "image.yaml", cwd=project)
    assert code == ExitCode.USAGE and "overlay" in err and "is outside the project directory" in err


def test_the_boot_job_keeps_what_fai_overlay_boot_writes(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Without --firmware, every usual firmware of the arch; the file names are boot's own."""
    doc = pipeline(capsys, "examples/default.yaml")
    paths = doc["live-boot default amd64"]["artifacts"]["paths"]
    assert "--firmware" not in doc["live-boot default amd64"]["script"][0]
    for fw in arches.get("amd64").qemu.default_firmware:
        assert out(live.console_log(fw)) in paths and out(live.checks_log(fw)) in paths
    kit.write_build(tmp_path / jobs.OUT, kit.manifest_doc())
    target = resolve(tmp_path / jobs.OUT / f"{kit.NAME}.qcow2")
    live._write_results(target, [live.BootRun("bios")])
    written = {str(p.relative_to(tmp_path)) for p in (tmp_path / jobs.OUT).iterdir()}
    assert {out(live.REPORT), out(live.TIMINGS)} <= written & set(paths)


def test_publish_on_the_default_branch_and_never_scheduled(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml", "--publish-to", "/srv/cloud")
    # branch pipelines only: a push to a branch with a merge request builds once
    assert doc["workflow"]["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "never"},
        {"when": "always"},
    ]
    never_scheduled = {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}
    assert doc["publish"]["rules"] == [never_scheduled, {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert doc["publish"]["script"] == ['fai-overlay publish out --to "$PUBLISH_TREE"']
    assert doc["variables"]["PUBLISH_TREE"]["value"] == "/srv/cloud"
    for name in ("build default amd64", "offline-test default amd64", "live-boot default amd64"):
        assert doc[name]["rules"] == [never_scheduled, {"when": "on_success"}]


def test_the_schedule_checks_the_published_manifests_and_triggers_its_child(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml")
    scheduled = [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    check, trigger = doc["check-updates"], doc["rebuild"]
    assert check["rules"] == scheduled and trigger["rules"] == scheduled
    assert check["artifacts"]["paths"] == [schedule.CHILD]
    assert trigger["needs"] == ["check-updates"]
    assert trigger["trigger"] == {
        "include": [{"artifact": schedule.CHILD, "job": "check-updates"}],
        "strategy": "depend",
    }
    published = tree.latest_manifest(Path("$PUBLISH_TREE"), "trixie", Kind.daily, NAME)
    assert str(published).removeprefix("$PUBLISH_TREE") in check["script"][0]


@pytest.fixture
def sched(capsys, tmp_path: Path) -> Any:  # type: ignore[no-untyped-def]
    """Run the check-updates job's script under bash -e with a stub fai-overlay exiting `rc`."""
    text = generate(capsys, "examples/default.yaml")[1]
    script = "\n".join(yaml.safe_load(text)["check-updates"]["script"])
    (tmp_path / ".gitlab-ci.yml").write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "fai-overlay"
    stub.write_text('#!/bin/sh\necho "$*" >> calls\nexit "$STUB_RC"\n')
    stub.chmod(0o755)
    published = tree.latest_manifest(tmp_path / "tree", "trixie", Kind.daily, NAME)

    def run(rc: int, *, published_yet: bool = True) -> subprocess.CompletedProcess[str]:
        if published_yet:
            published.parent.mkdir(parents=True, exist_ok=True)
            published.write_text("{}")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "STUB_RC": str(rc),
            "PUBLISH_TREE": str(tmp_path / "tree"),
        }
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )

    run.dir = tmp_path  # type: ignore[attr-defined]
    run.config = text  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("rc", [int(ExitCode.UPDATES), int(ExitCode.SECURITY_UPDATES)])
def test_updates_make_the_child_this_pipeline(sched, rc: int) -> None:  # type: ignore[no-untyped-def]
    proc = sched(rc)
    assert proc.returncode == 0, proc.stderr
    assert (sched.dir / schedule.CHILD).read_text() == sched.config
    assert (sched.dir / "calls").read_text().startswith("check-updates ")


def test_an_image_never_published_is_built(sched) -> None:  # type: ignore[no-untyped-def]
    proc = sched(0, published_yet=False)
    assert proc.returncode == 0 and "not published yet" in proc.stdout
    assert (sched.dir / schedule.CHILD).read_text() == sched.config
    assert not (sched.dir / "calls").exists()


def test_no_updates_make_a_child_that_only_says_so(sched) -> None:  # type: ignore[no-untyped-def]
    proc = sched(0)
    assert proc.returncode == 0, proc.stderr
    child = yaml.safe_load((sched.dir / schedule.CHILD).read_text())
    assert list(child) == [schedule.NOTHING_JOB]
    assert child[schedule.NOTHING_JOB]["tags"] == ["fai-overlay-publish"]


def test_a_failing_check_fails_the_job(sched) -> None:  # type: ignore[no-untyped-def]
    proc = sched(int(ExitCode.FAILED))
    assert proc.returncode == 1 and "check-updates failed (exit 1)" in proc.stderr
    assert not (sched.dir / schedule.CHILD).exists()


def test_runner_tags_default_per_capability_and_configurable(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml")
    assert doc["build default amd64"]["tags"] == ["fai-overlay-amd64"]
    assert doc["live-boot default amd64"]["tags"] == ["fai-overlay-amd64"]
    assert doc["publish"]["tags"] == doc["check-updates"]["tags"] == ["fai-overlay-publish"]
    doc = pipeline(capsys, "examples/default.yaml", "--tags", "amd64=kvm,big", "--tags", "publish=web")
    for name in ("build default amd64", "offline-test default amd64", "live-boot default amd64"):
        assert doc[name]["tags"] == ["kvm", "big"]
    assert doc["publish"]["tags"] == doc["check-updates"]["tags"] == ["web"]


def test_arches_that_share_their_tag_pattern_build_as_one_matrix_job(capsys) -> None:  # type: ignore[no-untyped-def]
    archs = ["--arch", "amd64", "--arch", "arm64", "--arch", "ppc64el"]
    doc = pipeline(capsys, "examples/default.yaml", *archs, "--tags", "ppc64el=power")
    matrix = doc["build default amd64+arm64"]
    assert matrix["parallel"] == {"matrix": [{"ARCH": ["amd64", "arm64"]}]}
    assert matrix["tags"] == ["fai-overlay-${ARCH}"]
    plain = doc["build default ppc64el"]
    assert plain["tags"] == ["power"] and plain["variables"] == {"ARCH": "ppc64el"}
    for arch in ("amd64", "arm64"):
        name = f"debian-trixie-genericcloud-{arch}"
        expanded = [p.replace("${ARCH}", arch) for p in matrix["artifacts"]["paths"]]
        assert out(outputs.MANIFEST, name) in expanded and out(".qcow2", name) in expanded
        selector = {"job": "build default amd64+arm64", "parallel": {"matrix": [{"ARCH": arch}]}}
        assert doc[f"offline-test default {arch}"]["needs"] == [selector]
        assert doc[f"live-boot default {arch}"]["needs"] == [selector]
    assert doc["live-boot default ppc64el"]["needs"] == [{"job": "build default ppc64el"}]
    doc = pipeline(capsys, "examples/default.yaml", *archs)
    assert "build default" in doc and len(doc["build default"]["parallel"]["matrix"][0]["ARCH"]) == 3


def test_setup_image_and_a_prepared_runner(capsys) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline(capsys, "examples/default.yaml")
    assert doc["build default amd64"]["before_script"] == list(jobs.DEFAULT_SETUP)
    assert (REPO / jobs.DEFAULT_SETUP[0].split()[0]).is_file()
    doc = pipeline(capsys, "examples/default.yaml", "--no-setup", "--image", "debian:trixie")
    assert "before_script" not in doc["build default amd64"]
    assert doc["build default amd64"]["image"] == doc["publish"]["image"] == "debian:trixie"
    doc = pipeline(capsys, "examples/default.yaml", "--setup", "apt-get install -y fai-overlay")
    assert doc["publish"]["before_script"] == ["apt-get install -y fai-overlay"]


def test_the_yaml_is_stable_and_says_how_it_was_made(capsys) -> None:  # type: ignore[no-untyped-def]
    first = generate(capsys, "examples/default.yaml", "examples/slim.yaml")[1]
    again = generate(capsys, "examples/default.yaml", "examples/slim.yaml")[1]
    assert first == again
    assert first.startswith("# Generated by fai-overlay ")
    assert "&id" not in first and "*id" not in first  # no YAML anchors


def definition(project: Path, name: str, **fields: object) -> Path:
    shutil.copytree(REPO / "examples/hello", project / "hello", dirs_exist_ok=True)
    data = yaml.safe_load((REPO / "examples/default.yaml").read_text())
    data.update(fields)
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    overlays = os.path.relpath(project / "hello", path.parent)
    path.write_text(yaml.safe_dump({**data, "overlays": [overlays]}))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no image definition given"),
        (("examples/default.yaml", "--tags", "amd64"), "expected ARCH=TAG"),
        (("examples/default.yaml", "--tags", "sparc=x"), "'sparc' is not an architecture"),
        (("examples/default.yaml", "--tags", "amd64=a b"), "'a b' is not a runner tag"),
        (("examples/default.yaml", "--tags", "amd64=a,"), "'' is not a runner tag"),
        (("examples/default.yaml", "--tags", "amd64=a", "--tags", "amd64=b"), "given twice"),
        (("examples/default.yaml", "--firmware", "slof"), "amd64 has none of them"),
        (("../default.yaml",), "outside the project directory"),
        (("/etc/passwd",), "outside the project directory"),
        (("examples/nope.yaml",), "not found"),
        (("raw-only.yaml",), "hand the image on as qcow2"),
        (("default.yaml", "sub/default.yaml"), "give the same job names"),
        (("default.yaml", "other.yaml"), "both build debian-trixie-genericcloud-amd64"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples", project / "examples")
    definition(project, "default.yaml")
    definition(project, "sub/default.yaml")
    definition(project, "other.yaml")
    definition(project, "raw-only.yaml", formats=["raw"])
    code, stdout, err = generate(capsys, *args, cwd=project)
    assert code == ExitCode.USAGE and not stdout
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_the_generator_itself_refuses_an_empty_list() -> None:
    from overlay.ci import gitlab
    from overlay.core.errors import OverlayError

    with pytest.raises(OverlayError, match="no image definition given"):
        gitlab.pipeline([], jobs.Options())
