"""`fai-overlay boot IMAGE`: boot the image in QEMU per firmware and check it live."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import disk, junit, log
from overlay.core.errors import BuildFailed, OverlayError
from overlay.core.runner import Runner
from overlay.verify import console, vmsetup
from overlay.verify.offline import VERIFY_DIR, pytest_argv, raw_image, run_pytest
from overlay.verify.target import Target, dump_context
from overlay.vm import accel as accelmod
from overlay.vm import machine
from overlay.vm.console import BootFailed, patterns

# What `fai-overlay boot` writes next to the image, each <name><suffix>. CI jobs
# (overlay/ci) name their artifacts from these.
REPORT = ".boot.junit.xml"
SUMMARY = ".boot.txt"
TIMINGS = ".boot.json"


def console_log(firmware: str) -> str:
    """The suffix of the serial console's log of the boot with `firmware`."""
    return f".console-{firmware}.log"


def checks_log(firmware: str) -> str:
    """The suffix of the live checks' pytest log of the boot with `firmware`."""
    return f".boot-{firmware}.log"


@dataclass
class BootRun:
    firmware: str
    accel: str = ""
    accel_reason: str = ""
    cases: list[junit.Case] = field(default_factory=list)
    error: str | None = None
    pytest_suites: list[Any] = field(default_factory=list)
    pytest_ok: bool | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.pytest_ok is not False


@dataclass(frozen=True)
class BootOptions:
    firmwares: Sequence[str] = ()
    accel: str = "auto"
    trust_host_cas: bool = True
    seed_extra: Mapping[str, Any] | None = None
    expect_failure: bool = False
    jobs: int | None = None  # firmwares booted at once; None: as many as the host has cores


def _boot_phases(vm: machine.Vm, uses_cloud_init: bool, run: BootRun) -> None:
    """Firmware, kernel, and (with cloud-init) userspace until cloud-init is done, each timed."""
    milestones = patterns()["milestones"]
    steps = [
        ("firmware and boot loader", milestones["kernel"], vm.timeouts["firmware"]),
        ("kernel and initramfs", milestones["userspace"], vm.timeouts["kernel"]),
    ]
    if uses_cloud_init:
        steps.append(
            ("userspace to cloud-init finished", r"Cloud-init v\. \S+ finished at", vm.timeouts["userspace"])
        )
    for name, pattern, timeout in steps:
        t0 = time.monotonic()
        try:
            vm.console.wait(name, pattern, timeout)
        except BootFailed as exc:
            run.cases.append(junit.Case(f"boot: {name}", "failed", exc.message, time.monotonic() - t0))
            raise
        run.cases.append(junit.Case(f"boot: {name}", seconds=time.monotonic() - t0))


def _ssh_config(vm: machine.Vm, workdir: Path, keys: list[str]) -> tuple[Path, int]:
    port = vm.ssh_port()
    known = workdir / "known_hosts"
    known.write_text("".join(f"[127.0.0.1]:{port} {k}\n" for k in keys))
    assert vm.seed is not None
    config = workdir / "ssh_config"
    config.write_text(
        f"Host 127.0.0.1\n  Port {port}\n  User {vm.seed.user}\n  IdentityFile {vm.seed.key}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n  ConnectTimeout 10\n  LogLevel ERROR\n"
    )
    return config, port


def _wait_ssh(config: Path, runner: Runner, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if (
            runner.run(
                ["ssh", "-F", str(config), "127.0.0.1", "cat /proc/sys/kernel/random/boot_id"],
                check=False,
                timeout=30,
            ).returncode
            == 0
        ):
            return time.monotonic() - t0
        time.sleep(2)
    raise BootFailed(f"ssh with the pinned host key did not succeed within {timeout:.0f}s")


@dataclass(frozen=True)
class HostRoot:
    """The booted image, mounted read-only on the host for the live tests (tests/vm.yaml image_root)."""

    image: Path  # the raw image (a temporary conversion of a qcow2)
    root: Path


@contextlib.contextmanager
def host_root(target: Target, runner: Runner, wanted: bool) -> Iterator[HostRoot | None]:
    """Mount the image read-only if the overlays' tests want it; always unmount, even what they left."""
    if not wanted:
        yield None
        return
    with raw_image(target, runner) as raw, disk.mounted_root(raw, runner) as root:
        try:
            yield HostRoot(raw, root)
        finally:
            for left in disk.unmount_below(root, runner):
                log.warn(f"the live tests left {left} mounted; unmounted it")


def _live_tests(
    target: Target,
    vm: machine.Vm,
    workdir: Path,
    runner: Runner,
    run: BootRun,
    setup: vmsetup.VmSetup,
    mounted: HostRoot | None,
) -> None:
    t0 = time.monotonic()
    # cloud-init's final stage prints the keys after the login prompt; on a loaded TCG host that
    # can take minutes, so it gets the architecture's userspace budget (data/arches.yaml)
    keys = vm.console.ssh_host_keys(timeout=vm.timeouts["userspace"])
    config, port = _ssh_config(vm, workdir, keys)
    waited = _wait_ssh(config, runner, vm.timeouts["kernel"])
    run.cases.append(
        junit.Case("ssh: host key pinned from the console, login works", seconds=time.monotonic() - t0)
    )
    log.info(f"ssh on port {port} ready after {waited:.0f}s, host key pinned from the console")
    assert vm.seed is not None
    context = workdir / "context.json"
    dump_context(
        context,
        {
            "mode": "live",
            "manifest": str(target.manifest_path),
            "expect": target.expect(),
            "ssh": {
                "port": port,
                "config": str(config),
                "user": vm.seed.user,
                "hostname": vm.seed.hostname,
                "host_keys": keys,
                "disk_bytes": vm.disk_bytes,
                "firmware": vm.firmware,
            },
            "vm": {
                "datasource": vm.seed.datasource,
                "nics": [{"net": n.net, "mac": n.mac} for n in vm.nics],
                "forwards": vm.forwards(),
                "seed_dirs": setup.seed_dirs,
            },
            "root": str(mounted.root) if mounted else None,
            "image": str(mounted.image) if mounted else None,
        },
    )
    report = workdir / "live.junit.xml"
    tests = [VERIFY_DIR / "checks", *target.test_dirs()]
    result = run_pytest(
        pytest_argv(context, report, tests, f"live-{vm.firmware}"),
        runner,
        target.out_dir / f"{target.name}{checks_log(vm.firmware)}",
        report,
        f"live checks of {target.name} ({vm.firmware})",
    )
    run.pytest_suites = junit.pytest_suites(report, f"live-{vm.firmware}")
    run.pytest_ok = result.ok
    log.info(result.summary.rstrip())


def _console_tests(vm: machine.Vm, run: BootRun) -> None:
    """No cloud-init: answer the first boot's prompts, log in as root on the console, check there."""
    t0 = time.monotonic()
    try:
        session, cases = console.first_boot_and_login(vm.console, vm.timeouts["userspace"])
    except BootFailed as exc:
        run.cases.append(
            junit.Case("boot: userspace to login", "failed", exc.message, time.monotonic() - t0)
        )
        raise
    run.cases += cases
    run.cases += console.checks(session, vm.disk_bytes)
    problems = [c for c in run.cases if c.problem]
    run.pytest_ok = not problems
    log.info(f"console checks: {sum(not c.problem for c in run.cases)} passed, {len(problems)} failed")


def boot_once(target: Target, firmware: str, runner: Runner, options: BootOptions) -> BootRun:
    run = BootRun(firmware)
    t0 = time.monotonic()
    accel = accelmod.choose(target.arch, target.image, runner, options.accel)
    run.accel, run.accel_reason = accel.name, accel.reason
    uses_cloud_init = "cloud-init" in target.manifest.package_names()
    workdir = Path(tempfile.mkdtemp(prefix="fai-overlay-vm."))
    console_copy = target.out_dir / f"{target.name}{console_log(firmware)}"
    try:
        setup = vmsetup.prepare(target.test_dirs(), workdir, runner, options.seed_extra)
        with (
            log.step(f"Booting {target.name} ({target.arch}, {firmware}, {accel.name.upper()})"),
            host_root(target, runner, setup.conf.image_root and uses_cloud_init) as mounted,
            machine.running(
                target.image,
                target.arch,
                firmware,
                accel,
                workdir,
                runner,
                hostname=f"fo-{firmware}-{int(time.time()) % 100000}",
                with_seed=uses_cloud_init,
                trust_host_cas=options.trust_host_cas,
                seed_extra=setup.cloud_config,
                datasource=setup.conf.datasource,
                injected=setup.injected,
                nics=setup.conf.nics,
            ) as vm,
        ):
            try:
                _boot_phases(vm, uses_cloud_init, run)
                if uses_cloud_init:
                    vm.console.drain()
                    _live_tests(target, vm, workdir, runner, run, setup, mounted)
                else:
                    _console_tests(vm, run)
            finally:
                shutil.copyfile(vm.files.console_log, console_copy)
    except BootFailed as exc:
        run.error = str(exc.message)
        log.warn(f"{firmware}: {exc.message}")
    finally:
        run.seconds = time.monotonic() - t0
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def _write_results(target: Target, runs: list[BootRun]) -> Path:
    suites = []
    for r in runs:
        suites.append(junit.suite(f"boot-{r.firmware}", r.cases))
        suites += r.pytest_suites
    path = target.out_dir / f"{target.name}{REPORT}"
    junit.write(path, suites)
    timings = {
        r.firmware: {
            "accel": r.accel,
            "accel_reason": r.accel_reason,
            "ok": r.ok,
            "error": r.error,
            "seconds": round(r.seconds, 1),
            "phases": {c.name: round(c.seconds, 1) for c in r.cases},
        }
        for r in runs
    }
    (target.out_dir / f"{target.name}{TIMINGS}").write_text(json.dumps(timings, indent=2, sort_keys=True))
    return path


def _boot_all(target: Target, firmwares: list[str], runner: Runner, options: BootOptions) -> list[BootRun]:
    """Boot each firmware, several at once (each VM in its own thread), results in firmware order.

    Ctrl-C reaches the main thread: it stops every VM by its PID, lets the
    threads clean up their directories, and re-raises.
    """
    jobs = max(1, min(len(firmwares), options.jobs or os.cpu_count() or 1))
    if jobs == 1:
        return [boot_once(target, fw, runner, options) for fw in firmwares]
    depth = log.depth()

    def one(firmware: str) -> BootRun:
        with log.branch(firmware, depth):
            return boot_once(target, firmware, runner, options)

    log.info(f"booting {', '.join(firmwares)} at once ({jobs} at a time)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="boot") as pool:
        futures = [pool.submit(one, fw) for fw in firmwares]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            machine.stop_all()
            raise


def boot(target: Target, runner: Runner, options: BootOptions) -> list[BootRun]:
    firmwares = list(options.firmwares) or list(target.arch.qemu.default_firmware)
    for fw in firmwares:
        target.arch.firmware(fw)  # an unknown firmware is an error before any VM starts
    runs = _boot_all(target, firmwares, runner, options)
    path = _write_results(target, runs)
    lines = [
        f"{r.firmware}: {'ok' if r.ok else 'FAILED'} in {log.fmt_seconds(r.seconds)} "
        f"({r.accel.upper()}: {r.accel_reason}){'; ' + r.error if r.error else ''}"
        for r in runs
    ]
    (target.out_dir / f"{target.name}{SUMMARY}").write_text("\n".join(lines) + "\n")
    for line in lines:
        log.info(line)
    failed = [r for r in runs if not r.ok]
    if failed and not options.expect_failure:
        reasons = "; ".join(f"{r.firmware}: {r.error or 'live checks failed'}" for r in failed)
        raise BuildFailed(
            f"boot of {target.name} failed: {reasons}", hint=f"see {path} and the console logs"
        )
    if options.expect_failure and not failed:
        raise OverlayError(f"{target.name} booted although it was expected to fail")
    return runs
