"""Command line: parse, dispatch, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from overlay import __version__, log
from overlay.config import Arch, BuildType, Format, Overrides, Vendor
from overlay.errors import ExitCode, OverlayError

Handler = Callable[[argparse.Namespace], int]


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    key, _, value = text.partition("=")
    return key, value


def add_image_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "image",
        type=Path,
        nargs=None if required else "?",
        metavar="IMAGE.yaml",
        help="the image definition",
    )
    g = p.add_argument_group("overrides (replace the image definition's values)")
    g.add_argument("--base", help="'embedded', a debian-cloud-images checkout or its config_space/<id>")
    g.add_argument("--release")
    g.add_argument("--vendor", choices=[v.value for v in Vendor])
    g.add_argument("--type", choices=[t.value for t in BuildType])
    g.add_argument("--name", help="output name template")
    g.add_argument("--size", help="disk size, e.g. 3G")
    g.add_argument("--var", action="append", default=[], type=_kv, metavar="NAME=VALUE")
    g.add_argument("--version", dest="image_version", help="image version (build number)")
    g.add_argument("--mirror", help="Debian mirror to build from, e.g. http://deb.debian.org/debian")
    g.add_argument("--apt-proxy", help="HTTP proxy for apt during the build")
    g.add_argument(
        "--apt-max-age",
        type=int,
        metavar="DAYS",
        help="accept Release files up to DAYS old during the build (a lagging mirror)",
    )
    _add_repeatable(g)


def _add_repeatable(g: argparse._ArgumentGroup) -> None:
    def repeatable(flag: str, dest: str, help: str, **kw: Any) -> None:
        g.add_argument(flag, action="append", default=[], dest=dest, help=help, **kw)

    repeatable("--overlay", "overlays", "add an overlay after the file's own (repeatable)", metavar="DIR")
    repeatable("--arch", "arch", "repeatable: one image per architecture", choices=[a.value for a in Arch])
    repeatable("--format", "formats", "repeatable", choices=[f.value for f in Format])
    repeatable("--class", "classes", "add a FAI class before LAST (repeatable)", metavar="CLASS")


def overrides(args: argparse.Namespace) -> Overrides:
    return Overrides(
        name=args.name,
        base=args.base,
        overlays=args.overlays,
        release=args.release,
        vendor=args.vendor,
        arch=args.arch,
        type=args.type,
        classes=args.classes,
        size=args.size,
        formats=args.formats,
        variables=dict(args.var),
        version=args.image_version,
        mirror=args.mirror,
        apt_proxy=args.apt_proxy,
        apt_max_age=args.apt_max_age,
    )


def build_parser() -> argparse.ArgumentParser:
    from overlay import verbs

    parser = argparse.ArgumentParser(
        prog="fai-overlay",
        description="Compose FAI config spaces from a base and overlays; build, verify and publish images.",
    )
    parser.add_argument("--version", action="version", version=f"fai-overlay {__version__}")
    parser.add_argument("--debug", action="store_true", help="show commands and tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for register in verbs.REGISTRY:
        register(sub)
    return parser


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A CI timeout or `kill` sends SIGTERM: clean up exactly as on Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    log.configure(quiet=args.quiet, debug=args.debug)
    handler: Handler = args.handler
    try:
        return int(handler(args))
    except OverlayError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"fai-overlay: error: {exc}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("fai-overlay: interrupted; everything this run set up was cleaned up", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the single boundary for unexpected errors
        if args.debug:
            traceback.print_exc()
        print(
            f"fai-overlay: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.FAILED)
