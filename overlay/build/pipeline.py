"""Build, then test and boot what was built; and rebuilds from a manifest's recorded inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from overlay.build.plan import Plan, make_plan
from overlay.build.run import BuildResult, build
from overlay.core import log, paths, secrets
from overlay.core.errors import BuildFailed, OverlayError
from overlay.core.runner import Runner
from overlay.definition import load
from overlay.definition.load import Overrides
from overlay.definition.spec import ImageSpec, settings
from overlay.manifest import model, record
from overlay.verify import live, offline
from overlay.verify.target import resolve


@dataclass(frozen=True)
class Steps:
    """What follows a build: offline checks, a live boot (with its options)."""

    test: bool = False
    boot: bool = False
    boot_options: live.BootOptions = live.BootOptions()


def spec_from_manifest(path: Path, allow_changed: bool, overrides: Overrides | None = None) -> ImageSpec:
    """The recorded inputs of a build, refused when a layer changed since (unless allowed).

    Flags given with --from-manifest replace the recorded values, as they do a
    file's. A manifest never records credentials: a URL that had them must be
    given again.
    """
    data = model.load(path)
    spec = load.from_json(data.image.to_json(), overrides=overrides) if overrides else data.image
    for s in settings():
        value = getattr(spec, s.attr)
        if isinstance(value, str) and secrets.redacted(value):
            raise OverlayError(
                f"the recorded {s.key} had credentials, which a manifest never keeps",
                path=path,
                hint=f"give it again: {s.flag} URL",
            )
    plan = make_plan(spec, path.parent)
    recorded = {la.name: la.digest for la in data.layers}
    for layer in plan.layers:
        now = record.layer_digest(layer.root)
        if recorded.get(layer.name) not in (None, now) and not allow_changed:
            raise OverlayError(
                f"layer '{layer.name}' at {layer.root} changed since {data.name} was built",
                path=path,
                hint="check out the recorded commit, or pass --allow-changed-inputs to build anyway",
            )
    return spec


def verify(manifest: Path, runner: Runner, steps: Steps) -> list[str]:
    """Offline checks and live boot after a build; each runs even if the other failed."""
    if not (steps.test or steps.boot):
        return []
    target = resolve(manifest)
    chosen: list[tuple[str, Callable[[], object]]] = []
    if steps.test:
        chosen.append(("offline checks", lambda: offline.check(target, runner)))
    if steps.boot:
        chosen.append(("boot", lambda: live.boot(target, runner, steps.boot_options)))
    failures = []
    for what, step in chosen:
        try:
            step()
        except BuildFailed as exc:
            failures.append(f"{target.name}: {what} failed: {exc.message}")
    return failures


def build_all(
    specs: Sequence[ImageSpec], out_dir: Path, runner: Runner, steps: Steps
) -> tuple[list[BuildResult], list[str]]:
    """Build every spec (the others go on when one fails), then test and boot each as asked."""
    results: list[BuildResult] = []
    failures: list[str] = []
    plans: list[Plan] = [make_plan(spec, out_dir) for spec in specs]  # every input checked first
    paths.check_output_dir(out_dir, "-o")  # then the output, before anything is created
    for plan in plans:
        try:
            with log.step(f"Building {plan.name}"):
                result = build(plan, runner)
        except BuildFailed as exc:
            failures.append(exc.message)
            continue
        results.append(result)
        outputs = ", ".join(map(str, result.outputs))
        log.info(f"built {result.name} in {log.fmt_seconds(result.seconds)}: {outputs}")
        failures += verify(result.manifest, runner, steps)
    return results, failures
