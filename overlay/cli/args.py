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


# How each kind of field becomes an argparse option, and what its help adds.
ACTIONS: dict[Cli, tuple[dict[str, Any], str]] = {
    Cli.replace: ({}, ""),
    Cli.replace_list: ({"action": "append"}, "; repeatable, replaces the file's list"),
    Cli.append: ({"action": "append"}, "; repeatable, adds to the file's list"),
    Cli.merge: ({"action": "append"}, "; repeatable, adds to the file's mapping"),
    Cli.toggle: ({"action": argparse.BooleanOptionalAction}, ""),
}


def _add_field(group: Any, s: Setting) -> None:
    action, note = ACTIONS[s.cli]
    kwargs: dict[str, Any] = {"dest": s.dest, "default": None, **action}
    if s.cli is not Cli.toggle:
        kwargs["metavar"] = s.metavar
    if s.cli_type is not None:
        kwargs["type"] = s.cli_type
    text = f"{s.describe()}{note} [default: {s.doc_default}]"
    group.add_argument(s.flag, help=text.replace("`", "").replace("%", "%%"), **kwargs)


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
