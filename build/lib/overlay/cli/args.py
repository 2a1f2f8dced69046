"""Options shared by verbs: the image-definition flags (from the field table) and JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from overlay.definition.fields import Cli, Setting
from overlay.definition.load import Overrides
from overlay.definition.spec import settings

Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _choices(s: Setting) -> str:
    return f" ({', '.join(s.choices())})" if s.choices else ""


def _add_field(group: Any, s: Setting) -> None:
    help_text = s.help.replace("`", "").replace("%", "%%")
    default = f" [default: {s.doc_default.replace('`', '')}]".replace("%", "%%")
    kind = {
        Cli.replace: {},
        Cli.replace_list: {"action": "append", "help": "repeatable; replaces the file's list"},
        Cli.append: {"action": "append", "help": "repeatable; adds to the file's list"},
        Cli.merge: {"action": "append"},
        Cli.toggle: {"action": argparse.BooleanOptionalAction},
    }[s.cli]
    kwargs: dict[str, Any] = {"dest": s.dest, "default": None, "metavar": s.metavar}
    kwargs |= {k: v for k, v in kind.items() if k != "help"}
    if s.cli_type is not None:
        kwargs["type"] = s.cli_type
    if s.cli is Cli.toggle:
        kwargs.pop("metavar")
    extra = f"; {kind['help']}" if "help" in kind else ""
    group.add_argument(s.flag, help=f"{help_text}{_choices(s)}{extra}{default}", **kwargs)


def add_image_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "image",
        type=Path,
        nargs=None if required else "?",
        metavar="IMAGE.yaml",
        help="the image definition",
    )
    group = p.add_argument_group("image definition fields (replace or add to the file's values)")
    for s in settings():
        _add_field(group, s)


def overrides(args: argparse.Namespace) -> Overrides:
    """The image-definition values given on the command line, by field key, in the file's shapes."""
    out: dict[str, Any] = {}
    for s in settings():
        value = getattr(args, s.dest, None)
        if value is None:
            continue
        out[s.key] = dict(value) if s.cli is Cli.merge else value
    return out


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
