"""The parser, the dispatch, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Callable, Sequence

from overlay import __version__
from overlay.cli import ci, image, publish, verify
from overlay.core import log
from overlay.core.errors import ExitCode, OverlayError

Handler = Callable[[argparse.Namespace], int]
VERBS = [*image.REGISTER, *verify.REGISTER, *publish.REGISTER, *ci.REGISTER]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fai-overlay",
        description="Compose FAI config spaces from a base and overlays; build, verify and publish images.",
    )
    parser.add_argument("--version", action="version", version=f"fai-overlay {__version__}")
    parser.add_argument("--debug", action="store_true", help="show commands and tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for register in VERBS:
        register(sub)
    return parser


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
