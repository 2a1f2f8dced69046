"""Foundation (issue 2): a real build of the default image, its manifest, its files, a failing build."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from overlay.core import disk
from overlay.core.runner import Runner
from tests.support import BUILD_ARGS, EXAMPLES, FIXTURES, HostState, cli

pytestmark = [pytest.mark.integration, pytest.mark.builds("default")]


@pytest.fixture(scope="module")
def default(builder):  # type: ignore[no-untyped-def]
    return builder.image("default")


def test_manifest_lists_kernel_and_overlay_package(default) -> None:  # type: ignore[no-untyped-def]
    data = default.manifest
    names = default.package_names()
    assert "linux-image-cloud-amd64" in names
    assert "jq" in names  # from the hello overlay's package_config/HELLO
    jq = next(p for p in data["packages"] if p["name"] == "jq")
    assert jq["version"] and jq["source"] == "jq" and jq["architecture"] == "amd64" and jq["source_version"]
    assert data["classes"][-2:] == ["HELLO", "LAST"]
    assert [la["name"] for la in data["layers"]] == ["base_classes", "hello", "fai-overlay"]
    assert all(la["digest"].startswith("sha256:") for la in data["layers"])
    assert data["fai"]["argv"][0] == "fai-diskimage" and "--cspace" in data["fai"]["argv"]
    assert data["fai"]["version"].startswith("6.")
    assert data["build"]["started"] < data["build"]["finished"]
    assert {o["format"] for o in data["outputs"]} == {"raw", "qcow2"}


def test_overlay_files_in_image_with_mode_and_grub_clean(default) -> None:  # type: ignore[no-untyped-def]
    with disk.mounted_root(default.raw, Runner()) as root:
        script = root / "usr/local/bin/hello-fai-overlay"
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        assert (
            (root / "etc/motd").read_text().startswith("Hello from fai-overlay: debian-trixie-genericcloud")
        )
        grub = (root / "boot/grub/grub.cfg").read_text()
    assert "/dev/loop" not in grub and "root=PARTUUID=" in grub


def test_outputs_and_rebuild_script(default) -> None:  # type: ignore[no-untyped-def]
    out = default.out_dir
    for suffix in (".raw", ".qcow2", ".build.json", ".build.log", ".compose.json", ".rebuild"):
        assert (out / f"{default.name}{suffix}").is_file(), suffix
    assert (out / f"{default.name}.fai-logs" / "status.log").is_file()
    assert not list(out.glob(".*.partial"))
    rebuild = (out / f"{default.name}.rebuild").read_text()
    assert "--from-manifest" in rebuild and (out / f"{default.name}.rebuild").stat().st_mode & 0o111
    # the recorded inputs reproduce the same plan: classes and fai-diskimage argv
    proc = cli("plan", "--from-manifest", default.manifest_path, "--json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["command"] == default.manifest["fai"]["argv"]


def test_missing_package_fails_cleanly(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = HostState()
    out = tmp_path / "out"
    proc = cli(
        "build",
        EXAMPLES / "default.yaml",
        "--overlay",
        FIXTURES / "overlays/missing-package",
        "-o",
        out,
        *BUILD_ARGS,
    )
    assert proc.returncode == 1
    error = proc.stderr.strip().splitlines()[-1]
    assert "fai-overlay-no-such-package" in error and error.startswith("fai-overlay: error: build of ")
    assert not [p for p in out.iterdir() if p.suffix in (".raw", ".qcow2", ".xz")]
    assert not (out / "debian-trixie-genericcloud-amd64.build.json").exists()
    failed = json.loads((out / "debian-trixie-genericcloud-amd64.build.failed.json").read_text())
    assert any("fai-overlay-no-such-package" in r for r in failed["reasons"])
    assert (out / "debian-trixie-genericcloud-amd64.build.log").stat().st_size > 0
    assert not list(out.glob(".*.partial"))
    assert HostState().leaks_since(before, builder.lane_owns) == []  # the lane's build is not ours
