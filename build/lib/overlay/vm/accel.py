"""KVM or TCG: smoke-test KVM with the image's own kernel, fall back to TCG, and say why."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from overlay.core import arches, commands, disk, log
from overlay.core.arches import Arch
from overlay.core.runner import Runner
from overlay.vm import qemu

CACHE = Path("/run/fai-overlay/kvm.json")


@dataclass(frozen=True)
class Accel:
    name: str  # "kvm" or "tcg"
    reason: str


def _cached(arch: Arch) -> Accel | None:
    try:
        data = json.loads(CACHE.read_text())[arch.name]
        return Accel(data["name"], data["reason"] + " (cached for this host boot)")
    except (FileNotFoundError, KeyError, ValueError):
        return None


def _store(arch: Arch, accel: Accel) -> None:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(CACHE.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    data[arch.name] = {"name": accel.name, "reason": accel.reason}
    CACHE.write_text(json.dumps(data))


def choose(arch: Arch, image: Path, runner: Runner, requested: str = "auto") -> Accel:
    if requested == "tcg":
        return Accel("tcg", "TCG requested")
    host = arches.host()
    if arch != host:
        return Accel("tcg", f"{arch} guest on a {host or 'foreign'} host: emulated with TCG")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Accel("tcg", "no usable /dev/kvm")
    cached = _cached(arch) if requested == "auto" else None
    if cached:
        return cached
    accel = smoke_test(arch, image, runner)
    _store(arch, accel)
    if requested == "kvm" and accel.name != "kvm":
        log.warn(f"KVM was requested but does not work here: {accel.reason}")
    return accel


def smoke_test(arch: Arch, image: Path, runner: Runner, timeout: float = 30.0) -> Accel:
    """Boot the image's kernel under KVM without a root filesystem: it must print 'Linux version'."""
    with (
        tempfile.TemporaryDirectory(prefix="fai-overlay-kvm.", dir="/var/tmp") as tmp,
        log.step("Smoke-testing KVM"),
    ):
        kernel = Path(tmp) / "vmlinuz"
        image_raw = image
        if image.suffix != ".raw":
            image_raw = Path(tmp) / "image.raw"
            runner.run(commands.raw_from_qcow2(image, image_raw))
        with disk.mounted_root(image_raw, runner) as root:
            kernels = sorted((root / "boot").glob("vmlinu[xz]-*"))
            if not kernels:
                return Accel("tcg", "no kernel in the image to smoke-test KVM with")
            shutil.copyfile(kernels[-1], kernel)
        console = Path(tmp) / "console.log"
        errors = Path(tmp) / "qemu.err"
        with errors.open("wb") as err:
            proc = runner.spawn(qemu.kvm_smoke_argv(arch, kernel, console), stdout=err)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                if console.exists() and "Linux version" in console.read_text(errors="replace"):
                    return Accel("kvm", "KVM smoke test passed")
                time.sleep(0.5)
            text = console.read_text(errors="replace") if console.exists() else ""
            if "Linux version" in text:
                return Accel("kvm", "KVM smoke test passed")
            lines = [ln for ln in errors.read_text(errors="replace").splitlines() if "error" in ln.lower()]
            why = (
                (lines[0][:120] if lines else "QEMU exited")
                if proc.poll() is not None
                else f"no kernel output in {timeout:.0f}s"
            )
            return Accel("tcg", f"KVM smoke test failed ({why}); falling back to TCG")
        finally:
            proc.stop(grace=2)
