"""plan, compose and build."""

from __future__ import annotations

import argparse
from pathlib import Path

from overlay.build import outputs, pipeline
from overlay.build.plan import Plan, make_plan
from overlay.cli import args as common
from overlay.cli.verify import add_boot_args, boot_options
from overlay.compose import write
from overlay.core import paths
from overlay.core.errors import BuildFailed, OverlayError
from overlay.core.runner import Runner
from overlay.definition.load import load_images
from overlay.definition.spec import ImageSpec
from overlay.verify import live, offline


def _specs(args: argparse.Namespace) -> list[ImageSpec]:
    if getattr(args, "from_manifest", None) and args.image is not None:
        raise OverlayError(
            "give an image definition or --from-manifest, not both",
            hint="--from-manifest takes the definition recorded in the manifest",
        )
    if getattr(args, "from_manifest", None):
        return [
            pipeline.spec_from_manifest(
                args.from_manifest, args.allow_changed_inputs, common.overrides(args)
            )
        ]
    if args.image is None:
        raise OverlayError("no image definition given", hint="fai-overlay build IMAGE.yaml")
    return load_images(args.image, common.overrides(args))


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
    common.add_image_args(p, required=False)
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
    for key, value in plan.shown_env().items():
        print(f"#   {key}={value}")
    print("# command:")
    print(" ".join(plan.argv))


def run_plan(args: argparse.Namespace) -> int:
    plans = [make_plan(spec, args.output) for spec in _specs(args)]
    if args.json:
        docs = [p.to_json() for p in plans]
        common.print_json(docs[0] if len(docs) == 1 else docs)
    else:
        for plan in plans:
            _print_plan(plan)
    return 0


def register_compose(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compose", help="compose the config space only (no root needed)")
    common.add_image_args(p)
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="writes OUTPUT/cspace and OUTPUT/compose.json"
    )
    p.set_defaults(handler=run_compose)


def run_compose(args: argparse.Namespace) -> int:
    specs = _specs(args)
    plans = [make_plan(spec, args.output) for spec in specs]
    paths.check_output_dir(args.output, "-o")
    for plan in plans:
        dest = args.output / plan.name if len(specs) > 1 else args.output
        result = write.compose(plan.layers, dest / "cspace", plan.variables(), plan.class_names())
        print(result.root)
    return 0


def register_build(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("build", help="compose and build the image with fai-diskimage (root)")
    common.add_image_args(p, required=False)
    p.add_argument("-o", "--output", type=Path, default=Path("out"), help="output directory (default: out)")
    add_manifest_args(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--test", action="store_true", help="then run the offline checks")
    p.add_argument("--boot", action="store_true", help="then boot it in QEMU and run the live checks")
    add_boot_args(p)
    p.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    steps = pipeline.Steps(test=args.test, boot=args.boot, boot_options=boot_options(args))
    results, failures = pipeline.build_all(_specs(args), args.output, Runner(), steps)
    if args.json:
        common.print_json(
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
        raise BuildFailed("; ".join(failures), hint=failure_hint(args.output, args.test, args.boot))
    return 0


def failure_hint(output: Path, test: bool, boot: bool) -> str:
    """Where to look: the logs of the steps that ran, not of those that did not."""
    ran = [outputs.BUILD_LOG, *([offline.SUMMARY] if test else []), *([live.SUMMARY] if boot else [])]
    files = ", ".join(ran[:-1]) + f" and {ran[-1]}" if len(ran) > 1 else ran[0]
    return f"see the {files} file{'s' if len(ran) > 1 else ''} in {output}"


REGISTER = [register_plan, register_compose, register_build]
