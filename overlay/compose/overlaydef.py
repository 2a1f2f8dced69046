"""An overlay: a directory in FAI config-space layout, with an optional overlay.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from overlay.core import yamlsrc
from overlay.definition import names

FAI_DIRS = ("class", "package_config", "files", "hooks", "scripts", "debconf", "disk_config", "basefiles")
NON_SPACE = (
    "overlay.yaml",
    "tests",
    "templates",  # partials for `include` in *.j2 files; not copied into the config space
    "README",
    "README.md",
    "README.rst",
    "LICENSE",
    "COPYING",
    "docs",
    "__pycache__",
    ".gitignore",
)
# What an overlay may add to the offline checks' allow-lists (data/checks.yaml), and
# 'upstream': upstream tests (debian-cloud-images' system_tests/image) expected to fail.
ALLOW_KEYS = (
    "users",
    "groups",
    "var_log",
    "password_users",
    "world_writable",
    "setuid",
    "private_keys",
    "personal_files",
    "sshd",
    "modified_files",
    "upstream",
)


@dataclass(frozen=True)
class OverlayDef:
    root: Path
    name: str
    description: str = ""
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    conflicts: Mapping[str, str] = field(default_factory=dict)  # class -> why they cannot be combined
    drops: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    manifest: Path | None = None
    lines: Mapping[yamlsrc.Key, int] = field(default_factory=dict, repr=False)

    def line_of(self, key: str, index: str | int | None = None) -> int | None:
        doc = yamlsrc.Doc(self.manifest or self.root, {}, dict(self.lines))
        return doc.line(key, index) if index is not None else doc.line(key)


# The keys of overlay.yaml are the fields of OverlayDef that come from it.
KEYS = {f.name for f in fields(OverlayDef)} - {"root", "manifest", "lines"}


def _names(doc: yamlsrc.Doc, key: str, classes: bool) -> tuple[str, ...]:
    value = doc.data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error((key,), f"'{key}' must be a list of strings")
    if classes:
        for i, name in enumerate(value):
            if not names.valid_class(name):
                raise doc.error((key, i), f"class name '{name}' is invalid", hint=names.CLASS_HINT)
    return tuple(value)


def _replaces(doc: yamlsrc.Doc) -> tuple[str, ...]:
    out = []
    for i, entry in enumerate(_names(doc, "replaces", classes=False)):
        parts = Path(entry).parts
        if entry.startswith("/") or ".." in parts or not parts:
            raise doc.error(
                ("replaces", i),
                f"replaces entry '{entry}' escapes the config space",
                hint="write paths relative to the config space, like package_config/EXTRAS",
            )
        out.append(Path(entry).as_posix())
    return tuple(out)


def _allow(doc: yamlsrc.Doc) -> dict[str, tuple[str, ...]]:
    allow = doc.data.get("allow") or {}
    if (
        not isinstance(allow, dict)
        or set(allow) - set(ALLOW_KEYS)
        or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in allow.values())
    ):
        raise doc.error(
            ("allow",),
            f"allow must map {', '.join(ALLOW_KEYS)} to lists of names",
            hint="e.g. allow: {users: [haproxy], var_log: [haproxy.log]}",
        )
    return {key: tuple(values) for key, values in allow.items()}


def _conflicts(doc: yamlsrc.Doc) -> dict[str, str]:
    conflicts = doc.data.get("conflicts") or {}
    hint = "e.g. conflicts: {SLIM: octavia-agent needs apparmor, which slim removes}"
    if not isinstance(conflicts, dict):
        raise doc.error(("conflicts",), "conflicts must map class names to the reason", hint=hint)
    for cls, why in conflicts.items():
        if not isinstance(cls, str) or not names.valid_class(cls):
            raise doc.error(("conflicts",), f"class name '{cls}' is invalid", hint=names.CLASS_HINT)
        if not isinstance(why, str) or not why.strip() or "\n" in why.strip():
            raise doc.error(("conflicts", cls), f"conflicts: {cls} needs a one-line reason", hint=hint)
    return {cls: why.strip() for cls, why in conflicts.items()}


def _variables(doc: yamlsrc.Doc) -> dict[str, str]:
    variables = doc.data.get("variables") or {}
    if not isinstance(variables, dict):
        raise doc.error(("variables",), "variables must be a mapping")
    for key, value in variables.items():
        if not names.valid_variable(key):
            raise doc.error(("variables", key), f"variable name '{key}' is not allowed", hint=names.VAR_HINT)
        if value is None or isinstance(value, dict | list):
            raise doc.error(("variables", key), f"variable {key} must be a string, number or boolean")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in variables.items()}


def _text(doc: yamlsrc.Doc, key: str, default: str) -> str:
    value = doc.data.get(key, default)
    if not isinstance(value, str):
        raise doc.error((key,), f"'{key}' must be a string")
    return value


def load(root: Path) -> OverlayDef:
    manifest = root / "overlay.yaml"
    if not manifest.is_file():
        return OverlayDef(root=root, name=root.name)
    doc = yamlsrc.load(manifest)
    data: Any = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "overlay.yaml must be a mapping")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise doc.error(
            (unknown[0],), f"unknown key '{unknown[0]}'", hint=f"known keys: {', '.join(sorted(KEYS))}"
        )
    name = _text(doc, "name", root.name)
    if not names.OVERLAY_NAME_RE.match(name):
        raise doc.error(("name",), f"overlay name '{name}' must be a simple word")
    return OverlayDef(
        root=root,
        name=name,
        description=_text(doc, "description", ""),
        provides=_names(doc, "provides", True),
        requires=_names(doc, "requires", True),
        conflicts=_conflicts(doc),
        drops=_names(doc, "drops", True),
        replaces=_replaces(doc),
        variables=_variables(doc),
        allow=_allow(doc),
        manifest=manifest,
        lines=doc.lines,
    )
