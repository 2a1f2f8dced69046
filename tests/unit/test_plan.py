"""The plan: the exact fai-diskimage argv and environment, without root."""

from __future__ import annotations

import json
from pathlib import Path

from overlay.build.plan import MIRROR_CLASS, make_plan
from overlay.compose import classes
from overlay.definition.load import load_images
from tests.support import EXAMPLES


def plan_for(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    (spec,) = load_images(EXAMPLES / "default.yaml", overrides)
    return make_plan(spec, tmp_path / "out")


def test_exact_fai_diskimage_argv(tmp_path: Path) -> None:
    plan = plan_for(tmp_path)
    work = tmp_path / "out" / ".debian-trixie-genericcloud-amd64.partial"
    assert list(plan.argv) == [
        "fai-diskimage",
        "--verbose",
        "--hostname",
        "debian",
        "--class",
        ",".join(plan.class_names()),
        "--size",
        "3G",
        "--cspace",
        str(work / "cspace"),
        str(work / "debian-trixie-genericcloud-amd64.raw"),
    ]
    names = plan.class_names()
    assert names[:3] == list(classes.START) and names[-2:] == ["HELLO", "LAST"]


def test_environment_matches_debian_cloud_images(tmp_path: Path) -> None:
    plan = plan_for(tmp_path)
    env = plan.env
    info = json.loads(env["CLOUD_BUILD_INFO"])
    assert info["release"] == "trixie" and info["vendor"] == "genericcloud" and info["arch"] == "amd64"
    assert info["release_id"] == info["release_baseid"] == "13"
    assert env["CLOUD_RELEASE_ID"] == "genericcloud"
    assert env["CLOUD_RELEASE_VERSION"] == f"{plan.spec.date}-1"
    assert env["CLOUD_BUILD_NAME"] == "debian-trixie-genericcloud-amd64"
    assert env["GREETING"] == "Hello from fai-overlay"
    assert env["APT_CONFIG"].startswith("/dev/shm/")  # host CA carried into the build, not the image


def test_size_format_and_mirror_overrides(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, size="2G", mirror="http://mirror.example/debian", arch=["arm64"])
    assert plan.argv[plan.argv.index("--size") + 1] == "2G"
    assert plan.class_names()[-2] == MIRROR_CLASS
    assert plan.env["FAI_OVERLAY_MIRROR"] == "http://mirror.example/debian"
    assert "ARM64" in plan.class_names() and "AMD64" not in plan.class_names()


def test_plan_json_keys(tmp_path: Path) -> None:
    doc = plan_for(tmp_path).to_json()
    assert {"classes", "env", "command"} <= set(doc)
    assert doc["classes"][0] == {"name": "BUILD_IMAGE", "reason": "every image build starts with it"}
    assert doc["command"][0] == "fai-diskimage"


def test_qmp_usernet_port_parsing() -> None:
    from overlay.vm.qmp import host_port, parse_usernet

    text = (
        "Hub -1 (n0):\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\n"
        "  TCP[HOST_FORWARD]  14       127.0.0.1 42857       10.0.2.15    22     0     0\n"
    )
    assert host_port(parse_usernet(text), "n0", 22) == 42857
