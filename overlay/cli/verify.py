"""test (offline) and boot (live)."""

from __future__ import annotations

import argparse
from pathlib import Path

from overlay.build import hostsetup
from overlay.core import arches
from overlay.core.runner import Runner
from overlay.verify import live, offline
from overlay.verify.target import resolve


def _firmware_help() -> str:
    per_arch = "; ".join(f"{a.name}: {', '.join(a.qemu.firmware)}" for a in arches.table().values())
    return f"repeatable ({per_arch}); default: every usual firmware of the architecture"


def register_test(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "test", help="offline checks: mount the image read-only and run the test suite (root)"
    )
    p.add_argument("image", type=Path, help="the image (.raw or .qcow2) or its .build.json")
    dci = p.add_mutually_exclusive_group()
    dci.add_argument(
        "--dci",
        type=Path,
        metavar="PATH",
        help="also run this debian-cloud-images checkout's system_tests/image against the image, "
        "a second opinion (default: $FAI_OVERLAY_DCI when set)",
    )
    dci.add_argument(
        "--no-dci", action="store_true", help="no second opinion, even when FAI_OVERLAY_DCI is set"
    )
    add_overlay_dir(p)
    p.set_defaults(handler=run_test)


def add_overlay_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overlay-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="an overlay's directory on this host, in place of the build host's path the manifest "
        "records for the overlay of that name (an image built elsewhere); repeatable",
    )


def run_test(args: argparse.Namespace) -> int:
    hostsetup.require_root("test")
    offline.check(resolve(args.image, args.overlay_dir), Runner(), args.dci, use_env=not args.no_dci)
    return 0


def add_boot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--firmware",
        action="append",
        default=[],
        metavar="FW",
        help=_firmware_help(),
    )
    p.add_argument(
        "--accel",
        choices=["auto", "kvm", "tcg"],
        default="auto",
        help="auto: smoke-test KVM and fall back to TCG (default)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="boot at most N firmwares at once (default: the host's number of cores)",
    )
    p.add_argument(
        "--no-vm-host-ca",
        dest="trust_host_cas",
        action="store_false",
        help="do not give the VM this host's local CAs (/usr/local/share/ca-certificates)",
    )


def register_boot(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("boot", help="boot the image in QEMU and run the live checks over ssh (root)")
    p.add_argument("image", type=Path, help="the image (.raw or .qcow2) or its .build.json")
    add_boot_args(p)
    p.add_argument(
        "--expect-failure",
        action="store_true",
        help="succeed only if the boot fails (negative tests, e.g. Secure Boot without signatures)",
    )
    add_overlay_dir(p)
    p.set_defaults(handler=run_boot)


def boot_options(args: argparse.Namespace) -> live.BootOptions:
    return live.BootOptions(
        firmwares=args.firmware,
        accel=args.accel,
        trust_host_cas=args.trust_host_cas,
        expect_failure=getattr(args, "expect_failure", False),
        jobs=args.jobs,
    )


def run_boot(args: argparse.Namespace) -> int:
    hostsetup.require_root("boot")
    live.boot(resolve(args.image, args.overlay_dir), Runner(), boot_options(args))
    return 0


REGISTER = [register_test, register_boot]
