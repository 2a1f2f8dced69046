"""Property-based: definitions, overlay.yaml files and manifests mutated from valid ones.

Every example must end in success or in one OverlayError line, never in an
internal error (any other exception). The examples are bounded so the whole
module runs in well under a minute.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overlay.build.plan import make_plan
from overlay.compose import overlaydef
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from overlay.manifest import model
from overlay.publish import diff, updates
from tests.fixtures import publishkit as kit
from tests.support import EXAMPLES

SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
NASTY_TEXT = [
    "", ".", "..", "../../etc/passwd", "/etc/shadow", "{arch}", "{0}", "{arch:>99}", "x{", "%s",
    "a\nb", "\x1b[31m", "\0", "LD_PRELOAD", "http://u:p@h/", "~root", "$HOME", "*", "-rf", "é",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths_of(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(data)))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path or action == "add" or not isinstance(parent, dict | list):
            target = data if not path else parent
            if isinstance(target, dict):
                target[draw(st.one_of(st.sampled_from(list(base)), st.text(max_size=10)))] = draw(values)
            continue
        if action == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return data


def one_line(exc: OverlayError) -> None:
    assert "\n" not in str(exc) and str(exc).strip()


DEFINITION = yaml.safe_load((EXAMPLES / "default.yaml").read_text())
DEFINITION |= {"overlays": [str(EXAMPLES / "hello")], "size": "3G", "mirror": "http://deb.debian.org/debian"}
OVERLAY = yaml.safe_load((EXAMPLES / "octavia-amphora/overlay.yaml").read_text()) | {
    "variables": {"GREETING": "hi"}
}


def _dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return json.dumps(data, default=str)


@SETTINGS
@given(mutated(DEFINITION))
def test_mutated_definitions(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.yaml"
        path.write_text(_dump(data))
        try:
            for spec in load_images(path):
                make_plan(spec, Path(tmp) / "out")
                spec.to_json()
        except OverlayError as exc:
            one_line(exc)
        assert not (Path(tmp) / "out").exists()


@SETTINGS
@given(mutated(OVERLAY))
def test_mutated_overlay_yaml(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ov"
        shutil.copytree(EXAMPLES / "hello", root)
        (root / "overlay.yaml").write_text(_dump(data))
        try:
            overlaydef.load(root)
            (spec,) = load_images(EXAMPLES / "default.yaml", {"overlays": [str(root)], "arch": ["amd64"]})
            make_plan(spec, Path(tmp) / "out")
        except OverlayError as exc:
            one_line(exc)


@SETTINGS
@given(mutated(kit.manifest_doc()))
def test_mutated_manifests(data: dict[str, Any]) -> None:
    try:
        text = json.dumps(data)
    except ValueError:
        return
    try:
        manifest = model.parse(json.loads(text), "m.build.json")
    except OverlayError as exc:
        one_line(exc)
        return
    result = diff.compare(manifest, manifest)
    assert not result.differs and diff.render(result)
    assert manifest.image.name and manifest.image.to_json()
    updates.compare(manifest.packages, {}, updates.reboot_patterns())
