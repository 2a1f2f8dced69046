"""A second opinion: debian-cloud-images' own image tests against the mounted image.

Given a debian-cloud-images checkout (`--dci PATH` or FAI_OVERLAY_DCI),
`fai-overlay test` also runs the checkout's system_tests/image with upstream's
own mount plugin, as upstream's hooks/tests.BUILD_IMAGE does during a build
(pytest -p debian_cloud_images.test.pytest.mount --mount-path ROOT), with this
Python: the image tests need only pytest and PyYAML, not upstream's CLI and its
Python >= 3.12. Upstream's failures are judged against the expected
differences (data/upstream-differences.yaml per base and blend, the image
definition's waive_tests, the overlays' allow: upstream); an unexpected one
fails the test. The checkout is only read: no cache, no byte code.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from overlay.core import junit, resources
from overlay.core.errors import OverlayError
from overlay.manifest import model

ENV = "FAI_OVERLAY_DCI"
TESTS = "system_tests/image"
PLUGIN = "debian_cloud_images.test.pytest.mount"
SUITE = "upstream"


def checkout(explicit: Path | None = None, *, use_env: bool = True) -> Path | None:
    """The checkout to ask: --dci PATH, else $FAI_OVERLAY_DCI (empty or unset: none)."""
    value = str(explicit) if explicit else (os.environ.get(ENV, "") if use_env else "")
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    plugin = path / "src" / (PLUGIN.replace(".", "/") + ".py")
    if not (path / TESTS).is_dir() or not plugin.is_file():
        source = "--dci" if explicit else ENV
        raise OverlayError(
            f"{source}={value} is not a debian-cloud-images checkout (no {TESTS} or {PLUGIN})",
            hint="git clone https://salsa.debian.org/cloud-team/debian-cloud-images.git, "
            "or leave out --dci / unset FAI_OVERLAY_DCI (--no-dci skips the second opinion)",
        )
    return path


def argv(dci: Path, root: Path, report: Path) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-c", str(dci / "system_tests/pytest.ini"),
        "-p", PLUGIN, "-p", "no:cacheprovider", "--rootdir", str(dci / "system_tests"),
        "--mount-path", str(root), f"--junitxml={report}", "-o", f"junit_suite_name={SUITE}",
        "-q", "-rfE", "--color=no", str(dci / TESTS),
    ]  # fmt: skip


def env(dci: Path, manifest: model.BuildManifest) -> dict[str, str]:
    """What upstream's build gives its tests: CLOUD_BUILD_INFO (the tests read the architecture) and co."""
    recorded = manifest.fai.env
    image = manifest.image
    info = recorded.get("CLOUD_BUILD_INFO") or json.dumps(
        {
            "type": image.type.value,
            "release": image.release,
            "vendor": image.vendor.value,
            "arch": image.arch.name,
        }
    )
    out = {
        "PYTHONPATH": str(dci / "src"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "CLOUD_BUILD_INFO": info,
        "CLOUD_BUILD_NAME": recorded.get("CLOUD_BUILD_NAME", manifest.name),
        "CLOUD_RELEASE_ID": recorded.get("CLOUD_RELEASE_ID", image.vendor.value),
    }
    if "CLOUD_RELEASE_VERSION" in recorded:
        out["CLOUD_RELEASE_VERSION"] = recorded["CLOUD_RELEASE_VERSION"]
    return out


@dataclass(frozen=True)
class Expected:
    test: str
    reason: str
    source: str  # why it is expected: "base embedded", "blend octavia-amphora", "waive_tests", ...


def expected(manifest: model.BuildManifest, declared: list[str]) -> list[Expected]:
    """The upstream failures this image is expected to have, and why."""
    data = resources.data_yaml("upstream-differences.yaml").data
    kind = manifest.base.kind
    out = [Expected(e["test"], e["reason"], f"base {kind}") for e in data.get("bases", {}).get(kind, [])]
    for layer in manifest.layers:
        if layer.kind == "overlay":
            entries = data.get("blends", {}).get(layer.name, [])
            out += [Expected(e["test"], e["reason"], f"blend {layer.name}") for e in entries]
    out += [Expected(t, "declared by an overlay", "allow: upstream") for t in declared]
    out += [Expected(w.test, w.reason, "waive_tests") for w in manifest.image.waivers]
    return out


def matches(test_id: str, name: str) -> bool:
    """A junit id (classname.name) matches a test named whole, by its tail, or by its last part."""
    return test_id == name or test_id.endswith("." + name) or test_id.split(".")[-1] == name


@dataclass
class Verdict:
    cases: list[junit.Case]
    expected_failures: list[tuple[junit.Case, Expected]] = field(default_factory=list)
    unexpected: list[junit.Case] = field(default_factory=list)
    stale: list[Expected] = field(default_factory=list)  # expected to fail, but passed

    @property
    def ok(self) -> bool:
        return not self.unexpected

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)


def judge(cases: list[junit.Case], expectations: list[Expected]) -> Verdict:
    verdict = Verdict(cases)
    for case in cases:
        if not case.problem:
            continue
        why = next((e for e in expectations if matches(case.name, e.test)), None)
        if why:
            verdict.expected_failures.append((case, why))
        else:
            verdict.unexpected.append(case)
    passed = [c.name for c in cases if c.status == "passed"]
    for e in expectations:
        if any(matches(name, e.test) for name in passed) and e not in verdict.stale:
            verdict.stale.append(e)
    return verdict


def summary(verdict: Verdict, label: str) -> str:
    lines = [
        f"{label}: {verdict.count('passed')} passed, {len(verdict.expected_failures)} failed as expected, "
        f"{len(verdict.unexpected)} failed unexpectedly, {verdict.count('skipped')} skipped"
    ]
    lines += [f"  FAILED {SUITE}: {c.name}: {c.message}" for c in verdict.unexpected]
    lines += [f"  expected: {c.name} ({e.source}: {e.reason})" for c, e in verdict.expected_failures]
    lines += [
        f"  no longer fails: {e.test} (expected by {e.source}; the expectation is stale)"
        for e in verdict.stale
    ]
    return "\n".join(lines) + "\n"


def suites(report: Path, verdict: Verdict) -> list[ET.Element]:
    """Upstream's junit suites for our report: expected failures become skips that say why."""
    why = {c.name: e for c, e in verdict.expected_failures}
    out = junit.pytest_suites(report, SUITE)
    for suite in out:
        for tc in suite.iter("testcase"):
            original = tc.get("classname", "").removeprefix(SUITE + ".")
            reason = why.get(f"{original}.{tc.get('name')}")
            problem = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
            if reason is None or problem is None:
                continue
            tc.remove(problem)
            text = f"expected difference ({reason.source}): {reason.reason}"
            ET.SubElement(tc, "skipped", type="pytest.skip", message=text).text = problem.get("message", "")
        cases = list(suite.iter("testcase"))
        for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            suite.set(attribute, str(sum(tc.find(tag) is not None for tc in cases)))
    return out
