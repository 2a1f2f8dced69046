"""The build stage around a build: rebuilds from a manifest, the chain of steps, the host lock."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from overlay.build import hostsetup, pipeline
from overlay.build.hostsetup import HostPaths
from overlay.build.run import BuildResult
from overlay.core.errors import BuildFailed, OverlayError
from overlay.core.runner import Result
from overlay.definition.load import load_images
from overlay.manifest import model, record
from tests.fakes import FakeRunner
from tests.fixtures import publishkit as kit
from tests.support import EXAMPLES


def _recorded(tmp_path: Path) -> tuple[Path, Path]:
    """A manifest recording a build of a copy of the hello overlay; returns (manifest, overlay)."""
    overlay = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", overlay)
    definition = tmp_path / "image.yaml"
    definition.write_text(
        "overlays: [hello]\nrelease: trixie\nvendor: genericcloud\nvariables: {GREETING: hi}\n"
    )
    (spec,) = load_images(definition)
    doc = kit.manifest_doc()
    doc["image"] = spec.to_json()
    doc["layers"] = [
        {"name": "hello", "kind": "overlay", "path": str(overlay), "digest": record.layer_digest(overlay)}
    ]
    path = tmp_path / "out" / f"{kit.NAME}.build.json"
    path.parent.mkdir()
    model.write(path, model.parse(doc, path))
    return path, overlay


def test_rebuild_uses_the_recorded_inputs(tmp_path: Path) -> None:
    path, _ = _recorded(tmp_path)
    spec = pipeline.spec_from_manifest(path, allow_changed=False)
    assert spec == model.load(path).image


def test_rebuild_refuses_a_changed_layer_unless_allowed(tmp_path: Path) -> None:
    path, overlay = _recorded(tmp_path)
    (overlay / "package_config/HELLO").write_text("PACKAGES install\nhello\n")
    with pytest.raises(OverlayError, match="layer 'hello' at .* changed since") as info:
        pipeline.spec_from_manifest(path, allow_changed=False)
    assert "--allow-changed-inputs" in (info.value.hint or "")
    assert pipeline.spec_from_manifest(path, allow_changed=True).overlays == (overlay,)


def test_rebuild_of_a_vanished_overlay_is_a_clear_error(tmp_path: Path) -> None:
    path, overlay = _recorded(tmp_path)
    shutil.rmtree(overlay)
    with pytest.raises(OverlayError, match=f"overlay directory {overlay} does not exist"):
        pipeline.spec_from_manifest(path, allow_changed=False)


def test_every_architecture_is_tried_and_failures_are_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = load_images(EXAMPLES / "default.yaml", {"arch": ["amd64", "arm64"]})
    built: list[str] = []

    def fake_build(plan, runner):  # type: ignore[no-untyped-def]
        built.append(plan.name)
        if plan.spec.arch.name == "amd64":
            raise BuildFailed(f"build of {plan.name} failed: no")
        return BuildResult(plan.name, plan.out_dir / f"{plan.name}.build.json", (), 1.0)

    monkeypatch.setattr(pipeline, "build", fake_build)
    results, failures = pipeline.build_all(specs, tmp_path, FakeRunner(), pipeline.Steps())
    assert built == [s.name for s in specs]
    assert [r.name for r in results] == [specs[1].name]
    assert failures == [f"build of {specs[0].name} failed: no"]


def _host(tmp_path: Path) -> HostPaths:
    return HostPaths(
        fai_logs=tmp_path / "logs", shm=tmp_path, lock=tmp_path / "run/lock", fai_lock=tmp_path / "fai.lock"
    )


def test_the_host_lock_removes_a_stale_fai_lock(tmp_path: Path) -> None:
    host = _host(tmp_path)
    host.fai_lock.write_text("999999999\n")  # no such process
    with hostsetup.build_lock(host):
        assert not host.fai_lock.exists()


def test_a_running_fai_is_refused(tmp_path: Path) -> None:
    host = _host(tmp_path)
    host.fai_lock.write_text(f"{os.getpid()}\n")
    with pytest.raises(OverlayError, match=f"another FAI installation is running \\(pid {os.getpid()}\\)"):
        with hostsetup.build_lock(host):
            pass


def test_a_second_build_does_not_wait_when_told_not_to(tmp_path: Path) -> None:
    host = _host(tmp_path)
    with hostsetup.build_lock(host):
        with pytest.raises(OverlayError, match="another fai-overlay build is running"):
            with hostsetup.build_lock(host, wait=False):
                pass


def test_root_tools_and_fai_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(OverlayError, match="build needs root"):
        hostsetup.require_root("build")
    runner = FakeRunner(responses={"dpkg-query": Result(("dpkg-query",), 0, "6.0.3+deb13u1")})
    assert hostsetup.fai_version(runner) == "6.0.3+deb13u1"
    assert hostsetup.fai_version(FakeRunner(responses={"dpkg-query": Result((), 1)})) == "unknown"
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(hostsetup, "BUILD_TOOLS", ("fai-overlay-no-such-tool",))
    with pytest.raises(OverlayError, match="required host tool 'fai-overlay-no-such-tool' is not installed"):
        hostsetup.require_build_tools()


def test_native_builds_need_no_binfmt(monkeypatch: pytest.MonkeyPatch) -> None:
    from overlay.core import arches

    native = arches.host() or next(iter(arches.table().values()))
    monkeypatch.setattr(arches, "host", lambda: native)
    runner = FakeRunner()
    assert hostsetup.ensure_binfmt(native, runner) == [] and runner.calls == []


def test_fai_log_directories_are_never_reused(tmp_path: Path) -> None:
    hostsetup.wait_for_new_second(tmp_path)  # nothing there: returns at once


def test_offline_and_boot_failures_are_both_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from overlay.verify import live, offline

    path, _ = _recorded(tmp_path)
    (path.parent / f"{kit.NAME}.raw").write_bytes(b"image")

    def offline_fails(target, runner):  # type: ignore[no-untyped-def]
        raise BuildFailed("2 checks failed")

    def boot_fails(target, runner, options):  # type: ignore[no-untyped-def]
        assert options.firmwares == ("bios",)
        raise BuildFailed("bios: timed out")

    monkeypatch.setattr(offline, "check", offline_fails)
    monkeypatch.setattr(live, "boot", boot_fails)
    steps = pipeline.Steps(test=True, boot=True, boot_options=live.BootOptions(firmwares=("bios",)))
    assert pipeline.verify(path, FakeRunner(), steps) == [
        f"{kit.NAME}: offline checks failed: 2 checks failed",
        f"{kit.NAME}: boot failed: bios: timed out",
    ]


def test_foreign_builds_enable_binfmt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from overlay.core import arches

    host, foreign = list(arches.table().values())[:2]
    monkeypatch.setattr(arches, "host", lambda: host)
    monkeypatch.setattr(hostsetup, "BINFMT", tmp_path)
    monkeypatch.setattr(hostsetup, "require_tool", lambda name: name)
    monkeypatch.setattr(
        Path, "exists", lambda self: True if str(self).startswith("/usr/bin/qemu-") else os.path.exists(self)
    )

    def enable(argv: list[str]) -> Result:
        (tmp_path / foreign.qemu_user).write_text("enabled\ninterpreter /usr/bin/x\n")
        return Result(tuple(argv), 0)

    (tmp_path / "status").write_text("enabled\n")
    runner = FakeRunner(tools={"update-binfmts": enable})
    done = hostsetup.ensure_binfmt(foreign, runner)
    assert done == [f"enabled the {foreign.qemu_user} binfmt handler"]
    assert runner.calls == [("update-binfmts", "--enable", foreign.qemu_user)]
    assert hostsetup.ensure_binfmt(foreign, FakeRunner()) == []  # already enabled: nothing to do


def test_a_rebuild_asks_again_for_credentials_the_manifest_masked(tmp_path: Path) -> None:
    path, _ = _recorded(tmp_path)
    doc = json.loads(path.read_text())
    doc["image"]["apt_proxy"] = "http://***@127.0.0.1:3128"
    path.write_text(json.dumps(doc))
    with pytest.raises(OverlayError, match="the recorded apt_proxy had credentials") as info:
        pipeline.spec_from_manifest(path, allow_changed=False)
    assert info.value.hint == "give it again: --apt-proxy URL"
    again = pipeline.spec_from_manifest(path, False, {"apt_proxy": "http://u:p@127.0.0.1:3128"})
    assert again.apt_proxy == "http://u:p@127.0.0.1:3128"


def test_plan_shows_no_credentials(tmp_path: Path) -> None:
    from tests.support import cli

    proc = cli(
        "plan", EXAMPLES / "default.yaml", "--apt-proxy", "http://u:s3cr3t-pw@127.0.0.1:3128", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert "s3cr3t-pw" not in proc.stdout and json.loads(proc.stdout)["env"]["http_proxy"] == (
        "http://***@127.0.0.1:3128"
    )
    text = cli("plan", EXAMPLES / "default.yaml", "--apt-proxy", "http://u:s3cr3t-pw@127.0.0.1:3128")
    assert "s3cr3t-pw" not in text.stdout and "http_proxy=http://***@127.0.0.1:3128" in text.stdout


def test_fai_gets_only_the_allow_listed_host_environment() -> None:
    from overlay.build import environment
    from overlay.build.plan import make_plan

    (spec,) = load_images(EXAMPLES / "default.yaml")
    plan = make_plan(spec, Path("/tmp/out"))
    host = {
        "PATH": "/usr/bin",
        "CI_JOB_TOKEN": "x",
        "LD_PRELOAD": "/evil.so",
        "https_proxy": "http://p:3128",
    }
    env = environment.for_fai(plan, host)
    assert env["PATH"] == "/usr/bin" and env["https_proxy"] == "http://p:3128"
    assert "CI_JOB_TOKEN" not in env and "LD_PRELOAD" not in env
    assert set(env) == set(environment.HOST_VARIABLES) & set(host) | set(plan.env)
    text = "CI_JOB_TOKEN=x\nPATH=/usr/bin\nSUITE=trixie\n"
    assert environment.scrub_variables(text, env, host) == "PATH=/usr/bin\nSUITE=trixie\n"
