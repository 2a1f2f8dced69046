#!/usr/bin/env python3
"""The slim blend's size target: compressed qcow2 and package count of slim
against genericcloud from the same base, built the same day.

Prints a table; asserts nothing. Needs root and the Debian mirror; the
official config space is included when $FAI_OVERLAY_DCI is set.

    .venv/bin/python bench/slim_size.py [--out /var/tmp/fai-overlay-bench-slim]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def build(definition: Path, out: Path, *extra: str) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "overlay",
            "build",
            str(definition),
            "-o",
            str(out),
            "--json",
            "--format",
            "qcow2",
            *extra,
        ],
        text=True,
        capture_output=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise SystemExit(f"build of {definition} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)[0]
    manifest = json.loads(Path(result["manifest"]).read_text())
    qcow2 = next(o for o in manifest["outputs"] if o["format"] == "qcow2")
    return {
        "name": result["name"],
        "qcow2": qcow2["size"],
        "packages": len(manifest["packages"]),
        "seconds": result["seconds"],
    }


def official_reference(out: Path) -> Path:
    """The official genericcloud image: slim-dci.yaml's base and waivers, without the slim overlay."""
    out.mkdir(parents=True, exist_ok=True)
    text = (REPO / "examples/slim-dci.yaml").read_text()
    text = text.replace("  - dci-compat\n  - slim\n", f"  - {REPO}/examples/dci-compat\n")
    reference = out / "official-genericcloud.yaml"
    reference.write_text(text.replace("-slim-dci", "-dci"))
    return reference


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fai-overlay-bench-slim")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    pairs = [("embedded", REPO / "examples/genericcloud.yaml", REPO / "examples/slim.yaml")]
    if os.environ.get("FAI_OVERLAY_DCI"):
        pairs.append(("debian-cloud-images", official_reference(args.out), REPO / "examples/slim-dci.yaml"))
    else:
        print("FAI_OVERLAY_DCI is not set: only the embedded base", file=sys.stderr)
    print(f"{'base':<22} {'image':<44} {'qcow2 MiB':>10} {'packages':>9} {'build s':>8}")
    for base, reference, slim in pairs:
        ref = build(reference, args.out / base / "reference")
        small = build(slim, args.out / base / "slim")
        for row in (ref, small):
            mib = int(row["qcow2"]) / 2**20
            print(f"{base:<22} {row['name']:<44} {mib:>10.1f} {row['packages']:>9} {row['seconds']:>8}")
        reduction = 1 - int(small["qcow2"]) / int(ref["qcow2"])
        print(f"{base:<22} {'slim is smaller by':<44} {reduction:>10.1%}")


if __name__ == "__main__":
    main()
