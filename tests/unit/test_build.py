"""The build stage without root or FAI: a simulated fai-diskimage behind the fake runner.

Each test drives build.run.execute (what `build` runs under the host lock)
and checks what a user finds in the output directory afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overlay.build import run
from overlay.core.errors import BuildFailed
from overlay.core.runner import Result
from overlay.manifest import model
from tests.unit.buildkit import REPOSITORY_OUTPUT


def files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()}


def test_success_hands_over_images_manifest_and_side_files(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup()
    plan = build.plan
    result = run.execute(build)
    name = plan.name
    assert files(plan.out_dir) == {
        f"{name}.raw", f"{name}.qcow2", f"{name}.build.json", f"{name}.build.log",
        f"{name}.compose.json", f"{name}.rebuild", f"{name}.fai-logs",
    }  # fmt: skip
    assert result.outputs == (plan.out_dir / f"{name}.raw", plan.out_dir / f"{name}.qcow2")
    manifest = model.load(result.manifest)
    assert manifest.image == plan.spec and manifest.classes == plan.class_names()
    assert manifest.fai.argv == list(plan.argv) and manifest.fai.version == "6.0.3"
    assert [p.name for p in manifest.packages] == ["base-files", "jq"] and not manifest.packages[
        0
    ].not_stable
    assert [o.format for o in manifest.outputs] == ["raw", "qcow2"]
    assert [la.name for la in manifest.layers] == ["base_classes", "hello", "fai-overlay"]
    assert not plan.apt_dir.exists() and not plan.work_dir.exists()
    assert "--from-manifest" in (plan.out_dir / f"{name}.rebuild").read_text()
    assert build.runner.argv0s().count("qemu-img") == 1  # raw kept, one conversion


def test_apt_settings_are_build_only_and_complete(setup) -> None:  # type: ignore[no-untyped-def]
    build, simulation = setup({"apt_max_age": 3, "apt_proxy": "http://127.0.0.1:3142"})
    seen: dict[str, str] = {}

    def fai(argv: list[str]) -> Result:
        seen["apt.conf"] = (build.plan.apt_dir / "apt.conf").read_text()
        return simulation(argv)

    build.runner.tools["fai-diskimage"] = fai
    run.execute(build)
    assert 'Acquire::http::Proxy "http://127.0.0.1:3142";' in seen["apt.conf"]
    assert 'Acquire::Min-ValidTime "259200";' in seen["apt.conf"]
    assert not build.plan.apt_dir.exists()


def test_fai_failure_leaves_a_record_and_no_image(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup(
        returncode=1,
        writes_image=False,
        output=["E: Unable to locate package fai-overlay-nope", "Error in task instsoft. Code: 1"],
    )
    with pytest.raises(BuildFailed) as info:
        run.execute(build)
    assert "fai-diskimage exited with 1; error in task instsoft (code 1)" in info.value.message
    assert "package(s) not found in the archive: fai-overlay-nope" in info.value.message
    name, out = build.plan.name, build.plan.out_dir
    assert files(out) == {f"{name}.build.failed.json", f"{name}.build.log", f"{name}.fai-logs"}
    failed = json.loads((out / f"{name}.build.failed.json").read_text())
    assert failed["name"] == name and any("fai-overlay-nope" in r for r in failed["reasons"])
    assert "E: Unable to locate package" in (out / f"{name}.build.log").read_text()


def test_known_failure_is_excused_with_its_evidence(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup(output=REPOSITORY_OUTPUT, status=["repository.BASE FAILED with exit code 1."])
    manifest = model.load(run.execute(build).manifest)
    (excuse,) = manifest.checks.excused_fai_failures
    assert excuse.name == "repository.BASE" and excuse.exit_code == 1 and "fcopy" in excuse.reason


def test_known_failure_without_evidence_fails_the_build(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup(output=[], status=["repository.BASE FAILED with exit code 1."])
    with pytest.raises(BuildFailed, match="repository.BASE failed with exit code 1"):
        run.execute(build)
    assert not (build.plan.out_dir / f"{build.plan.name}.build.json").exists()


def test_waived_in_build_tests_pass_and_are_recorded(setup) -> None:  # type: ignore[no-untyped-def]
    junit = (
        '<testsuite><testcase classname="test_etc.TestEtc" name="test_group_name[clock]">'
        '<failure message="clock"/></testcase><testcase classname="t" name="ok"/></testsuite>'
    )
    waiver = {"test": "test_group_name[clock]", "reason": "udev 257"}
    build, _ = setup(
        {"waive_tests": [waiver]}, status=["tests.BUILD_IMAGE FAILED with exit code 1."], junit=junit
    )
    manifest = model.load(run.execute(build).manifest)
    assert [w.reason for w in manifest.checks.waived_tests] == ["udev 257"]
    assert manifest.checks.in_build_tests == {"tests": 2, "failures": 1, "errors": 0, "skipped": 0}
    assert (build.plan.out_dir / f"{build.plan.name}.build.junit.xml").is_file()


def test_interruption_cleans_up_and_records_it(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup(interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        run.execute(build)
    name, out = build.plan.name, build.plan.out_dir
    failed = json.loads((out / f"{name}.build.failed.json").read_text())
    assert failed["reasons"] == ["interrupted (Ctrl-C)"]
    assert not build.plan.work_dir.exists() and not build.plan.apt_dir.exists()
    assert not [p for p in out.iterdir() if p.suffix in (".raw", ".qcow2")]


def test_hand_over_replaces_an_earlier_build(setup) -> None:  # type: ignore[no-untyped-def]
    build, _ = setup()
    name, out = build.plan.name, build.plan.out_dir
    (out / f"{name}.tar.xz").write_text("an older build's image")
    (out / f"{name}.build.failed.json").write_text("{}")
    build.plan.work_dir.mkdir()  # left by an interrupted build
    (build.plan.work_dir / "junk").write_text("x")
    run.execute(build)
    assert not (out / f"{name}.tar.xz").exists() and not (out / f"{name}.build.failed.json").exists()
    assert (out / f"{name}.qcow2").is_file() and not build.plan.work_dir.exists()


def test_a_missing_capture_is_a_failure(setup) -> None:  # type: ignore[no-untyped-def]
    build, simulation = setup()

    def no_capture(argv: list[str]) -> Result:
        result = simulation(argv)
        (build.plan.state_dir / "packages.json").unlink()
        return result

    build.runner.tools["fai-diskimage"] = no_capture
    with pytest.raises(BuildFailed, match="the package capture .* did not run"):
        run.execute(build)


def test_tar_xz_only_and_repairs_reported(setup, capsys) -> None:  # type: ignore[no-untyped-def]
    build, simulation = setup({"formats": ["tar.xz"]})

    def fai(argv: list[str]) -> Result:
        result = simulation(argv)
        state = build.plan.state_dir
        (state / "esp.json").write_text(
            json.dumps({"filled": True, "files": ["EFI/BOOT/X.EFI"], "offset": 1})
        )
        stale = {"file": "x_InRelease", "valid_until": "Thu, 05 Nov 2026 00:00:00 UTC"}
        (state / "releases.json").write_text(json.dumps([stale]))
        return result

    def tar(argv: list[str]) -> Result:
        Path(argv[argv.index("--file") + 1]).write_bytes(b"tar")
        return Result(tuple(argv), 0)

    def xz(argv: list[str]) -> Result:
        Path(argv[-1]).rename(argv[-1] + ".xz")
        return Result(tuple(argv), 0)

    build.runner.tools.update({"fai-diskimage": fai, "tar": tar, "xz": xz})
    result = run.execute(build)
    name = build.plan.name
    assert [p.name for p in result.outputs] == [f"{name}.tar.xz"]
    assert not (build.plan.out_dir / f"{name}.raw").exists()
    manifest = model.load(result.manifest)
    assert manifest.checks.esp_filled_by_fai_overlay is not None
    assert manifest.checks.stale_release_files[0]["file"] == "x_InRelease"
    err = capsys.readouterr().err
    assert "fai-overlay filled it (1 files)" in err and "expired on Thu, 05 Nov 2026" in err


def test_build_checks_the_host_and_takes_the_lock(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from overlay.build import hostsetup

    build, _ = setup()
    checked: list[str] = []
    monkeypatch.setattr(hostsetup, "require_root", lambda what: checked.append(f"root:{what}"))
    monkeypatch.setattr(hostsetup, "require_build_tools", lambda: checked.append("tools"))
    monkeypatch.setattr(hostsetup, "ensure_binfmt", lambda arch, runner: checked.append(f"binfmt:{arch}"))
    result = run.build(build.plan, build.runner)
    assert checked == ["root:build", "tools", f"binfmt:{build.plan.spec.arch}"]
    assert result.manifest.is_file() and build.plan.host.lock.exists()


CANARY = "fo-canary-7d3b9e"
PASSWORD = "fo-pw-51c0a8"


def test_no_host_secret_and_no_proxy_password_reach_the_output(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CI_JOB_TOKEN", CANARY)
    proxy = f"http://builder:{PASSWORD}@127.0.0.1:3128"
    build, simulation = setup({"apt_proxy": proxy})

    def fai(argv: list[str]) -> Result:
        result = simulation(argv)
        env = build.runner.options[-1]["env"]
        assert (
            env["http_proxy"] == proxy and "CI_JOB_TOKEN" not in env
        )  # FAI gets the password, not the token
        assert build.runner.options[-1]["inherit"] is False
        logs = next(build.plan.host.fai_logs.iterdir())
        (logs / "variables.log").write_text(f"CI_JOB_TOKEN={CANARY}\nhttp_proxy={proxy}\nSUITE=trixie\n")
        (logs / "software.log").write_text(f"Get:1 {proxy}/debian trixie InRelease\n")
        (logs / "unknown-host-file").write_text(CANARY)
        return Result(result.argv, 0, result.stdout + f"Using proxy {proxy}\n")

    build.runner.tools["fai-diskimage"] = fai
    manifest = model.load(run.execute(build).manifest)
    leaks = [
        str(p)
        for p in build.plan.out_dir.rglob("*")
        if p.is_file() and (CANARY.encode() in p.read_bytes() or PASSWORD.encode() in p.read_bytes())
    ]
    assert not leaks, f"secrets in {leaks}"
    logs = build.plan.out_dir / f"{build.plan.name}.fai-logs"
    assert (logs / "variables.log").read_text() == "http_proxy=http://***@127.0.0.1:3128\nSUITE=trixie\n"
    assert not (logs / "unknown-host-file").exists()
    assert manifest.image.apt_proxy == "http://***@127.0.0.1:3128"
    assert manifest.fai.env["http_proxy"] == "http://***@127.0.0.1:3128"
    assert (
        "Using proxy http://***@127.0.0.1:3128"
        in (build.plan.out_dir / f"{build.plan.name}.build.log").read_text()
    )
