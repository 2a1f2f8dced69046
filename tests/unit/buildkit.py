"""A build without root or FAI: a simulated fai-diskimage behind the fake runner (the `setup` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from overlay.build import run
from overlay.build.hostsetup import HostPaths
from overlay.build.plan import Plan, make_plan
from overlay.core.runner import Result
from overlay.definition.load import load_images
from tests.fakes import FakeRunner
from tests.support import EXAMPLES

REPOSITORY_OUTPUT = [
    "Calling hook: repository.BASE",
    "fcopy: no matching file for any class for /etc/apt/sources.list defined.",
    "fcopy: copied /srv/cspace/files/etc/apt/sources.list.d/debian.sources/DEBIAN to /target/etc/apt",
    "repository.BASE     FAILED with exit code 1.",
]
PACKAGES = [
    {"name": "base-files", "version": "13.8", "architecture": "amd64", "source": "base-files",
     "source_version": "13.8", "origins": [{"suite": "stable", "codename": "trixie"}]},
    {"name": "jq", "version": "1.7.1-6", "architecture": "amd64", "source": "jq",
     "source_version": "1.7.1-6", "origins": [{"suite": "stable", "codename": "trixie"}]},
]  # fmt: skip


@dataclass
class FaiSimulation:
    """What the simulated fai-diskimage does: its exit code, output, status.log and files."""

    plan: Plan
    returncode: int = 0
    output: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    writes_image: bool = True
    junit: str | None = None
    interrupt: bool = False

    def __call__(self, argv: list[str]) -> Result:
        assert argv == list(self.plan.argv)
        if self.interrupt:
            raise KeyboardInterrupt
        stamp = "20261202_101010"
        logs = self.plan.host.fai_logs / f"install-{stamp}"
        logs.mkdir(parents=True)
        (logs / "status.log").write_text("".join(f"{line}\n" for line in self.status))
        (logs / "variables.log").write_text("FAI_ACTION=install\n")
        if self.writes_image:
            self.plan.raw.write_bytes(b"\0" * 4096)
            (self.plan.state_dir / "packages.json").write_text(json.dumps(PACKAGES))
        if self.junit is not None:
            (self.plan.work_dir / f"{self.plan.name}.build.junit.xml").write_text(self.junit)
        lines = [f"Starting FAI execution - {stamp}", "Calling task_instsoft", *self.output]
        return Result(tuple(argv), self.returncode, "\n".join(lines) + "\n")


def qemu_img(argv: list[str]) -> Result:
    Path(argv[-1]).write_bytes(b"QFI\xfb" + Path(argv[-2]).read_bytes()[:64])
    return Result(tuple(argv), 0)


@pytest.fixture
def setup(tmp_path: Path) -> Callable[..., tuple[run.BuildRun, FaiSimulation]]:
    host = HostPaths(
        fai_logs=tmp_path / "fai-logs",
        shm=tmp_path / "shm",
        lock=tmp_path / "lock",
        fai_lock=tmp_path / "fai-lock",
        host_ca=tmp_path / "no-ca.crt",
    )

    def make(
        overrides: dict[str, object] | None = None, **fai: object
    ) -> tuple[run.BuildRun, FaiSimulation]:
        (spec,) = load_images(EXAMPLES / "default.yaml", {"arch": ["amd64"], **(overrides or {})})
        plan = make_plan(spec, tmp_path / "out", host)
        plan.out_dir.mkdir(parents=True)
        simulation = FaiSimulation(plan, **fai)  # type: ignore[arg-type]
        runner = FakeRunner(
            tools={"fai-diskimage": simulation, "qemu-img": qemu_img},
            responses={
                "git": Result(("git",), 128, "", "not a git repository"),
                "dpkg-query": Result(("dpkg-query",), 0, "6.0.3"),
            },
        )
        return run.BuildRun(plan, runner), simulation

    return make
