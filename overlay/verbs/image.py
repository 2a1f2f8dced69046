"""plan, compose and build."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from overlay import cli, compose, log, manifest
from overlay.config import ImageSpec
from overlay.errors import BuildFailed, OverlayError
from overlay.imagefile import load_images
from overlay.plan import Plan, make_plan
from overlay.runner import Runner


def _specs(args: argparse.Namespace) -> list[ImageSpec]:
    if getattr(args, "from_manifest", None):
        return [_spec_from_manifest(args.from_manifest, args.allow_changed_inputs)]
    if args.image is None:
        raise OverlayError("no image definition given", hint="fai-overlay build IMAGE.yaml")
    return load_images(args.image, cli.overrides(args))


def _spec_from_manifest(path: Path, allow_changed: bool) -> ImageSpec:
    data = manifest.load(path)
    spec = manifest.spec_from_json(data["image"])
    plan = make_plan(spec, path.parent)
    recorded = {la["name"]: la["digest"] for la in data["layers"]}
    for layer in plan.layers:
        now = manifest.layer_digest(layer.root)
        if recorded.get(layer.name) not in (None, now) and not allow_changed:
            raise OverlayError(
                f"layer '{layer.name}' at {layer.root} changed since {data['name']} was built",
                path=path,
                hint="check out the recorded commit, or pass --allow-changed-inputs to build anyway",
            )
    return spec


def add_manifest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from-manifest",
        type=Path,
        metavar="BUILD.json",
        help="use the inputs recorded in a build manifest (what <name>.rebuild does)",
    )
    p.add_argument(
        "--allow-changed-inputs",
        action="store_true",
        help="with --from-manifest: go on even if a layer changed since",
    )


def register_plan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="print classes (with reasons), environment and the fai-diskimage argv")
    cli.add_image_args(p, required=False)
    add_manifest_args(p)
    p.add_argument("-o", "--output", type=Path, default=Path("out"), help="output directory (default: out)")
    p.add_argument("--json", action="store_true", help="machine-readable: keys classes, env, command")
    p.set_defaults(handler=run_plan)


def _print_plan(plan: Plan) -> None:
    print(f"# {plan.name}: {plan.spec.release} {plan.spec.vendor} {plan.spec.arch} ({plan.spec.type})")
    print(f"# base: {plan.base.kind} at {plan.base.config_space}")
    print("# layers, lowest priority first:")
    for layer in plan.layers:
        print(f"#   {layer.name:<20} {layer.kind:<9} {layer.root}")
    print(f"# classes ({len(plan.classes)}), lowest priority first:")
    width = max(len(c.name) for c in plan.classes)
    for entry in plan.classes:
        print(f"#   {entry.name:<{width}}  {entry.reason}")
    print("# environment:")
    for key, value in sorted(plan.env.items()):
        print(f"#   {key}={value}")
    print("# command:")
    print(" ".join(plan.argv))


def run_plan(args: argparse.Namespace) -> int:
    plans = [make_plan(spec, args.output) for spec in _specs(args)]
    if args.json:
        docs = [p.to_json() for p in plans]
        cli.print_json(docs[0] if len(docs) == 1 else docs)
    else:
        for plan in plans:
            _print_plan(plan)
    return 0


def register_compose(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compose", help="compose the config space only (no root needed)")
    cli.add_image_args(p)
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="writes OUTPUT/cspace and OUTPUT/compose.json"
    )
    p.set_defaults(handler=run_compose)


def run_compose(args: argparse.Namespace) -> int:
    specs = _specs(args)
    for spec in specs:
        plan = make_plan(spec, args.output)
        dest = args.output / plan.name if len(specs) > 1 else args.output
        result = compose.compose(plan.layers, dest / "cspace", plan.variables(), plan.class_names())
        print(result.root)
    return 0


def register_build(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("build", help="compose and build the image with fai-diskimage (root)")
    cli.add_image_args(p, required=False)
    p.add_argument("-o", "--output", type=Path, default=Path("out"), help="output directory (default: out)")
    add_manifest_args(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--test", action="store_true", help="then run the offline checks")
    p.add_argument("--boot", action="store_true", help="then boot it in QEMU and run the live checks")
    from overlay.verbs.verify import add_boot_args

    add_boot_args(p)
    p.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    from overlay.build import build

    runner = Runner()
    results, failures = [], []
    for spec in _specs(args):
        plan = make_plan(spec, args.output)
        try:
            with log.step(f"Building {plan.name}"):
                result = build(plan, runner)
        except BuildFailed as exc:  # the other architectures still build
            failures.append(exc.message)
            continue
        results.append(result)
        outputs = ", ".join(str(p) for p in result.outputs)
        log.info(f"built {result.name} in {log.fmt_seconds(result.seconds)}: {outputs}")
        failures += _verify(args, result.manifest, runner)
    if args.json:
        cli.print_json(
            [
                {
                    "name": r.name,
                    "manifest": str(r.manifest),
                    "outputs": [str(p) for p in r.outputs],
                    "seconds": round(r.seconds, 1),
                }
                for r in results
            ]
        )
    if failures:
        raise BuildFailed(
            "; ".join(failures), hint=f"see the .build.log, .test.txt and .boot.txt files in {args.output}"
        )
    return 0


def _verify(args: argparse.Namespace, manifest_path: Path, runner: Runner) -> list[str]:
    """Offline checks and live boot after a build; each runs even if the other failed."""
    from overlay.verbs.verify import boot_options
    from overlay.verify import live, offline
    from overlay.verify.target import resolve

    target = resolve(manifest_path)
    steps: list[tuple[str, Callable[[], object]]] = []
    if args.test:
        steps.append(("offline checks", lambda: offline.check(target, runner)))
    if args.boot:
        steps.append(("boot", lambda: live.boot(target, runner, boot_options(args))))
    failures = []
    for what, step in steps:
        try:
            step()
        except BuildFailed as exc:
            failures.append(f"{target.name}: {what} failed: {exc.message}")
    return failures
