"""Naming rules, each stated once: FAI classes, variables, image and overlay names, sizes."""

from __future__ import annotations

import re

CLASS_RE = re.compile(r"^[A-Z0-9_]+(\+[A-Z0-9_]+)*$")
CLASS_HINT = "FAI class names use A-Z, 0-9 and _ (no '-', '.', '#', ';'); combinations join classes with '+'"

VAR_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Variables FAI or the build host use themselves; an image's variables may not set them.
RESERVED_VARS = frozenset(
    {"PATH", "HOME", "LOGDIR", "ROOTCMD", "LC_ALL", "LANG", "SHELL", "USER", "TERM", "PWD", "APT_CONFIG"}
)
RESERVED_VAR_PREFIXES = ("FAI_", "PYTHON")
VAR_HINT = "use an upper-case shell name that is not PATH, FAI_* or another variable FAI itself uses"

IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
IMAGE_NAME_HINT = "use letters, digits, '.', '_', '+' and '-'"
OVERLAY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SIZE_RE = re.compile(r"^[1-9][0-9]*[MG]$")


def valid_class(name: str) -> bool:
    return bool(CLASS_RE.match(name))


def valid_variable(name: str) -> bool:
    return (
        bool(VAR_RE.match(name)) and name not in RESERVED_VARS and not name.startswith(RESERVED_VAR_PREFIXES)
    )


def valid_image_name(name: str) -> bool:
    return bool(IMAGE_NAME_RE.match(name))
