"""What every generated job shares: the options, runner tags, rules, the job and artifacts shapes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from overlay.core import arches
from overlay.core.errors import OverlayError

OUT = "out"  # every job's output directory, relative to the project
STAGES = ["check", "build", "offline-test", "live-boot", "publish"]
IMAGE_EXPIRY = "3 days"  # build artifacts hold the qcow2; the published tree keeps what lasts
REPORT_EXPIRY = "30 days"  # junit, logs and consoles of the test and boot jobs
TIMEOUTS = {"build": "3h", "offline-test": "1h", "live-boot": "2h"}  # cross builds and TCG boots are slow
DEFAULT_TREE = "/srv/images"
DEFAULT_SETUP = ("./setup.sh --ci", 'export PATH="$CI_PROJECT_DIR/.venv/bin:$PATH"')
PUBLISH = "publish"  # the --tags key of the publish and check-updates jobs
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
TAGS_HINT = "--tags ARCH=TAG[,TAG…] (ARCH: an architecture, or publish), e.g. --tags publish=web"

SCHEDULED = '$CI_PIPELINE_SOURCE == "schedule"'
DEFAULT_BRANCH = "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
MERGE_REQUEST = '$CI_PIPELINE_SOURCE == "merge_request_event"'


def default_tags(key: str) -> tuple[str, ...]:
    """One runner tag per capability: fai-overlay-<arch> builds and boots <arch>; fai-overlay-publish."""
    return (f"fai-overlay-{key}",)


@dataclass(frozen=True)
class Options:
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # arch name or PUBLISH -> tags
    firmwares: tuple[str, ...] = ()  # boot only these (where the architecture has them)
    setup: tuple[str, ...] = DEFAULT_SETUP  # every job's before_script; () on a prepared runner
    image: str | None = None  # the container image, for docker runners
    publish_to: str = DEFAULT_TREE

    def tags_for(self, key: str) -> list[str]:
        return list(self.tags.get(key) or default_tags(key))


def parse_tags(values: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """`--tags ARCH=TAG[,TAG…]` values, checked: known keys, each once, plain tags."""
    out: dict[str, tuple[str, ...]] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise OverlayError(f"--tags {value!r}: expected ARCH=TAG[,TAG…]", hint=TAGS_HINT)
        if key != PUBLISH and key not in arches.names():
            raise OverlayError(
                f"--tags {value!r}: '{key}' is not an architecture",
                hint=f"use one of: {', '.join([*arches.names(), PUBLISH])}",
            )
        tags = tuple(t.strip() for t in rest.split(","))
        bad = next((t for t in tags if not TAG_RE.match(t)), None)
        if bad is not None:
            raise OverlayError(
                f"--tags {value!r}: {bad!r} is not a runner tag",
                hint="tags are letters, digits and . _ : / -, separated by commas",
            )
        if key in out:
            raise OverlayError(f"--tags {key}= is given twice", hint="list all its tags in one --tags")
        out[key] = tags
    return out


def workflow() -> dict[str, Any]:
    """Branch pipelines only, as Debian's own: a job rule without `if` would also put every job
    in a merge request pipeline, and each push would build twice."""
    return {"rules": [{"if": MERGE_REQUEST, "when": "never"}, {"when": "always"}]}


def rules(*, scheduled: bool = False, publish: bool = False) -> list[dict[str, str]]:
    """Scheduled pipelines run only check-updates; publish also needs the default branch."""
    if scheduled:
        return [{"if": SCHEDULED}]
    last = {"if": DEFAULT_BRANCH} if publish else {"when": "on_success"}
    return [{"if": SCHEDULED, "when": "never"}, last]


def job(stage: str, tags: Sequence[str], script: list[str], options: Options) -> dict[str, Any]:
    """A job's common keys, in the order a reader wants them."""
    out: dict[str, Any] = {"stage": stage}
    if options.image:
        out["image"] = options.image
    out["tags"] = list(tags)
    if options.setup:
        out["before_script"] = list(options.setup)
    out["script"] = script
    return out


def artifacts(files: list[str], expiry: str, junit: str | None = None) -> dict[str, Any]:
    """Kept also when the job fails: its logs say why."""
    out: dict[str, Any] = {"when": "always", "expire_in": expiry, "paths": files}
    if junit:
        out["reports"] = {"junit": junit}
    return out


def out_file(name: str, suffix: str) -> str:
    return f"{OUT}/{name}{suffix}"


class _Dumper(yaml.SafeDumper):
    """safe_dump's dumper; multi-line strings (scripts) as literal blocks, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _str)


def dump(doc: Mapping[str, Any]) -> str:
    """YAML in the dict's own (stable) key order."""
    return yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
