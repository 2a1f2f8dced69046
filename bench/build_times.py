#!/usr/bin/env python3
"""Build time and image size: the default image, and the official config space
built through fai-overlay and by plain fai-diskimage with the same classes.

Prints a table; asserts nothing. Needs root, the Debian mirror, and for the
official config space a debian-cloud-images checkout in $FAI_OVERLAY_DCI.

    .venv/bin/python bench/build_times.py [--out /var/tmp/fai-overlay-bench] [--skip-default] [--skip-dci]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

try:  # fai-overlay's dependencies: the venv has them, the system's python3 does not
    import debian  # noqa: F401
    import jinja2  # noqa: F401
    import pexpect  # noqa: F401
    import sh  # noqa: F401
    import yaml  # noqa: F401
except ImportError:
    sys.exit(f"{sys.argv[0]}: run it with the venv's Python: .venv/bin/python {sys.argv[0]}")
FAI_OVERLAY = [sys.executable, "-m", "overlay"]


def sh(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(argv, text=True, capture_output=True, cwd=REPO, **kw)


def sizes(raw: Path, qcow2: Path | None, work: Path) -> tuple[int, int]:
    if qcow2 is None or not qcow2.exists():
        qcow2 = work / (raw.stem + ".qcow2")
        sh(
            ["qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compat=1.1", str(raw), str(qcow2)],
            check=True,
        )
    return raw.stat().st_blocks * 512, qcow2.stat().st_size


def via_fai_overlay(definition: Path, out: Path, *extra: str) -> dict[str, object]:
    t0 = time.monotonic()
    proc = sh([*FAI_OVERLAY, "build", str(definition), "-o", str(out), "--json", *extra])
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"build of {definition} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)[0]
    manifest = json.loads(Path(result["manifest"]).read_text())
    raw = out / f"{result['name']}.raw"
    allocated, qcow2 = sizes(raw, out / f"{result['name']}.qcow2", out)
    return {
        "what": f"fai-overlay {definition.name}",
        "fai_seconds": round(sum(manifest["fai"]["task_seconds"].values()), 1),
        "total_seconds": result["seconds"],
        "wall_seconds": round(wall, 1),
        "raw_allocated": allocated,
        "qcow2": qcow2,
        "packages": len(manifest["packages"]),
    }


def plain_fai_diskimage(dci: Path, out: Path) -> dict[str, object]:
    """Upstream's invocation, with the classes fai-overlay plans (no overlays)."""
    definition = out / "plain.yaml"
    definition.write_text(
        f"base: {dci}\nrelease: trixie\nvendor: genericcloud\narch: amd64\ntype: official\n"
    )
    plan = json.loads(
        sh([*FAI_OVERLAY, "plan", str(definition), "--json", "-o", str(out)], check=True).stdout
    )
    classes = [c["name"] for c in plan["classes"]]
    env = {k: v for k, v in plan["env"].items() if not k.startswith("FAI_OVERLAY") and k != "APT_CONFIG"}
    env["CLOUD_BUILD_OUTPUT_DIR"] = str(out)
    # the one concession to this host: its intercepting HTTPS proxy (see docs/build.md)
    shm = Path(tempfile.mkdtemp(prefix="bench-apt.", dir="/dev/shm"))
    shm.chmod(0o755)
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", shm / "ca.crt")
    (shm / "apt.conf").write_text(f'Acquire::https::CaInfo "{shm}/ca.crt";\n')
    env["APT_CONFIG"] = str(shm / "apt.conf")
    raw = out / "plain.raw"
    argv = [
        "fai-diskimage",
        "--verbose",
        "--hostname",
        "debian",
        "--class",
        ",".join(classes),
        "--size",
        "3G",
        "--cspace",
        str(dci / "config_space/13"),
        str(raw),
    ]
    t0 = time.monotonic()
    proc = sh(argv, env={**os.environ, **env})
    wall = time.monotonic() - t0
    shutil.rmtree(shm, ignore_errors=True)
    (out / "plain.log").write_text(proc.stdout + proc.stderr)
    status = Path("/var/log/fai/debian/last/status.log").read_text()
    failed = [ln.split()[0] for ln in status.splitlines() if "FAILED" in ln]
    allocated, qcow2 = sizes(raw, None, out)
    packages = sh(["sh", "-c", f"grep -c '^Package:' {out}/*.dpkg-status"]).stdout.strip()
    return {
        "what": "plain fai-diskimage (same classes)",
        "fai_seconds": round(wall, 1),
        "total_seconds": round(wall, 1),
        "wall_seconds": round(wall, 1),
        "raw_allocated": allocated,
        "qcow2": qcow2,
        "packages": packages,
        "exit": proc.returncode,
        "failed_in_status_log": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("/var/tmp/fai-overlay-bench"))
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--skip-dci", action="store_true")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    rows = []
    if not args.skip_default:
        rows.append(via_fai_overlay(REPO / "examples/default.yaml", args.out / "default"))
    dci = os.environ.get("FAI_OVERLAY_DCI")
    if dci and not args.skip_dci:
        rows.append(via_fai_overlay(REPO / "examples/official.yaml", args.out / "official"))
        (args.out / "plain").mkdir(parents=True)
        rows.append(plain_fai_diskimage(Path(dci), args.out / "plain"))
    elif not args.skip_dci:
        print("FAI_OVERLAY_DCI is not set: skipping the official config space", file=sys.stderr)
    print(
        f"{'build':<42} {'fai s':>7} {'total s':>8} {'raw alloc MiB':>14} {'qcow2 MiB':>10} {'packages':>9}"
    )
    for r in rows:
        mib = int(r["raw_allocated"]) >> 20, int(r["qcow2"]) >> 20
        print(
            f"{r['what']:<42} {r['fai_seconds']:>7} {r['total_seconds']:>8} {mib[0]:>14} {mib[1]:>10} "
            f"{r['packages']:>9}"
        )
        if "failed_in_status_log" in r:
            failed = ", ".join(r["failed_in_status_log"])  # type: ignore[arg-type]
            print(f"  plain fai-diskimage exit {r['exit']}; FAILED in status.log: {failed}")
    (args.out / "results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
