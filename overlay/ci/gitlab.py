"""`fai-overlay ci`: image definitions and runner options in, a GitLab CI pipeline (a dict) out.

    stage check         check-updates and rebuild: scheduled pipelines only (see schedule)
    stage build         build <key> <arch>: fai-overlay build, one job per image and
                        architecture; a parallel:matrix over ARCH, `build <key>`, where
                        the arches' tags and image names differ only by the arch
    stage offline-test  offline-test <key> <arch>: fai-overlay test on the build's qcow2
    stage live-boot     live-boot <key> <arch>: fai-overlay boot on the build's qcow2
    stage publish       publish: fai-overlay publish, on the default branch, never scheduled

<key> is the definition file's name without .yaml. `pipeline` is pure; `load`
reads the definitions. The build hands the image on as the compressed qcow2
(a raw image is never an artifact) with its manifest. Every file name comes
from the stage that writes it (build.outputs, verify.offline, verify.live).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.build import outputs
from overlay.ci import jobs, schedule
from overlay.ci.jobs import OUT, Options, out_file
from overlay.core.arches import Arch
from overlay.core.errors import OverlayError
from overlay.definition.load import load_images
from overlay.definition.spec import Format, ImageSpec
from overlay.verify import live, offline

IMAGE_FORMAT = Format.qcow2  # what the build hands to the test, boot and publish jobs
ARCH_VAR = "${ARCH}"
NO_DEFINITION_HINT = "fai-overlay ci IMAGE.yaml… > .gitlab-ci.yml, in the project's top directory"


@dataclass(frozen=True)
class Definition:
    """One image definition: its path as the jobs give it (relative to the project), and its images."""

    path: str
    specs: tuple[ImageSpec, ...]
    overlays: tuple[str, ...] = ()  # the overlays' directories, relative to the project

    def overlay_flags(self) -> str:
        """For test and boot: a job's checkout may sit elsewhere than the build job's."""
        return "".join(f" --overlay-dir {shlex.quote(o)}" for o in self.overlays)

    @property
    def key(self) -> str:
        return Path(self.path).stem


def load(files: Sequence[Path], arch_override: Sequence[str], project: Path) -> list[Definition]:
    """Load each definition (with --arch if given); jobs find it by its path in the project."""
    if not files:
        raise OverlayError("no image definition given", hint=NO_DEFINITION_HINT)
    overrides = {"arch": list(arch_override)} if arch_override else {}
    out = []
    for file in files:
        absolute = (project / file).resolve()
        if not absolute.is_relative_to(project.resolve()):
            raise OverlayError(
                f"image definition {file} is outside the project directory {project}",
                hint="the jobs find definitions in their checkout; " + NO_DEFINITION_HINT,
            )
        if not absolute.is_file():
            raise OverlayError(f"image definition {file} not found", hint=NO_DEFINITION_HINT)
        relative = absolute.relative_to(project.resolve())
        specs = tuple(load_images(absolute, overrides))
        out.append(Definition(str(relative), specs, _overlays(file, specs, project.resolve())))
    check(out)
    return out


def _overlays(file: Path, specs: Sequence[ImageSpec], project: Path) -> tuple[str, ...]:
    out: list[str] = []
    for directory in dict.fromkeys(o for spec in specs for o in spec.overlays):
        if not directory.resolve().is_relative_to(project):
            raise OverlayError(
                f"{file}: overlay {directory} is outside the project directory {project}",
                hint="the jobs build from their checkout: keep the overlays in the repository",
            )
        out.append(str(directory.resolve().relative_to(project)))
    return tuple(out)


def check(definitions: Sequence[Definition]) -> None:
    """What the jobs rely on: unique job keys and image names, and a qcow2 to hand on."""
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    for d in definitions:
        if d.key in keys:
            raise OverlayError(
                f"{keys[d.key]} and {d.path} give the same job names ('{d.key}')",
                hint="rename one of the definition files",
            )
        keys[d.key] = d.path
        for spec in d.specs:
            if IMAGE_FORMAT not in spec.formats:
                raise spec.error(
                    "formats",
                    f"{spec.name}: the CI jobs hand the image on as {IMAGE_FORMAT.value}, "
                    "and this definition does not make one",
                    hint=f"add {IMAGE_FORMAT.value} to formats (raw images are never CI artifacts)",
                )
            if spec.name in names:
                raise OverlayError(
                    f"{names[spec.name]} and {d.path} both build {spec.name}",
                    hint="image names must differ: the jobs share one output directory",
                )
            names[spec.name] = d.path


def image_path(name: str) -> str:
    return out_file(name, f".{IMAGE_FORMAT.value}")


def build_outputs(name: str) -> list[str]:
    """What the build job keeps: the manifest (or the failure record), logs, the qcow2."""
    suffixes = [
        outputs.MANIFEST,
        outputs.FAILED,
        outputs.BUILD_LOG,
        outputs.FAI_LOG_DIR + "/",
        outputs.BUILD_JUNIT,
        outputs.COMPOSE,
        outputs.REBUILD,
    ]
    return [out_file(name, s) for s in suffixes] + [image_path(name)]


def test_outputs(name: str) -> list[str]:
    return [out_file(name, s) for s in (offline.REPORT, offline.LOG, offline.SUMMARY)]


def boot_firmwares(arch: Arch, options: Options) -> list[str]:
    """The firmwares the live-boot job boots: the chosen ones the arch has, else its usual ones."""
    if not options.firmwares:
        return list(arch.qemu.default_firmware)
    chosen = [fw for fw in options.firmwares if fw in arch.qemu.firmware]
    if not chosen:
        raise OverlayError(
            f"--firmware {' '.join(options.firmwares)}: {arch.name} has none of them",
            hint=f"{arch.name} boots with: {', '.join(arch.qemu.firmware)}",
        )
    return chosen


def boot_outputs(name: str, firmwares: Sequence[str]) -> list[str]:
    files = [out_file(name, s) for s in (live.REPORT, live.SUMMARY, live.TIMINGS)]
    for fw in firmwares:
        files += [out_file(name, live.console_log(fw)), out_file(name, live.checks_log(fw))]
    return files


@dataclass(frozen=True)
class BuildGroup:
    """The images of one definition that one build job makes: one, or a matrix over ARCH."""

    definition: Definition
    specs: tuple[ImageSpec, ...]
    job: str

    @property
    def matrix(self) -> bool:
        return len(self.specs) > 1

    def templated(self, text: str, arch: str) -> str:
        """`text` of the job's first arch, with the arch as ${ARCH} in a matrix job."""
        return text.replace(arch, ARCH_VAR) if self.matrix else text

    def needs(self, spec: ImageSpec) -> dict[str, Any]:
        if not self.matrix:
            return {"job": self.job}
        return {"job": self.job, "parallel": {"matrix": [{"ARCH": spec.arch.name}]}}


def build_groups(d: Definition, options: Options) -> list[BuildGroup]:
    """The definition's arches, grouped by their tags and image name with the arch as ${ARCH}."""
    by_key: dict[tuple[tuple[str, ...], str], list[ImageSpec]] = {}
    for spec in d.specs:
        a = spec.arch.name
        tags = tuple(t.replace(a, ARCH_VAR) for t in options.tags_for(a))
        by_key.setdefault((tags, spec.name.replace(a, ARCH_VAR)), []).append(spec)
    out = []
    for specs in by_key.values():
        if len(specs) == 1:
            name = f"build {d.key} {specs[0].arch.name}"
        elif len(by_key) == 1:
            name = f"build {d.key}"
        else:
            name = f"build {d.key} {'+'.join(s.arch.name for s in specs)}"
        out.append(BuildGroup(d, tuple(specs), name))
    return out


def build_job(group: BuildGroup, options: Options) -> dict[str, Any]:
    first = group.specs[0]
    a = first.arch.name
    definition = shlex.quote(group.definition.path)
    script = [f'fai-overlay build {definition} --arch "$ARCH" -o {OUT} $BUILD_OPTIONS']
    job = jobs.job("build", [group.templated(t, a) for t in options.tags_for(a)], script, options)
    if group.matrix:
        job["parallel"] = {"matrix": [{"ARCH": [s.arch.name for s in group.specs]}]}
    else:
        job["variables"] = {"ARCH": a}
    job["timeout"] = jobs.TIMEOUTS["build"]
    files = [group.templated(f, a) for f in build_outputs(first.name)]
    junit = group.templated(out_file(first.name, outputs.BUILD_JUNIT), a)
    job["artifacts"] = jobs.artifacts(files, jobs.IMAGE_EXPIRY, junit)
    job["rules"] = jobs.rules()
    return job


def test_job(group: BuildGroup, spec: ImageSpec, options: Options) -> dict[str, Any]:
    script = [f"fai-overlay test {image_path(spec.name)}{group.definition.overlay_flags()}"]
    job = jobs.job("offline-test", options.tags_for(spec.arch.name), script, options)
    job["needs"] = [group.needs(spec)]
    job["timeout"] = jobs.TIMEOUTS["offline-test"]
    junit = out_file(spec.name, offline.REPORT)
    job["artifacts"] = jobs.artifacts(test_outputs(spec.name), jobs.REPORT_EXPIRY, junit)
    job["rules"] = jobs.rules()
    return job


def boot_job(group: BuildGroup, spec: ImageSpec, options: Options) -> dict[str, Any]:
    firmwares = boot_firmwares(spec.arch, options)
    flags = "".join(f" --firmware {fw}" for fw in firmwares) if options.firmwares else ""
    script = [f"fai-overlay boot {image_path(spec.name)}{group.definition.overlay_flags()}{flags}"]
    job = jobs.job("live-boot", options.tags_for(spec.arch.name), script, options)
    job["needs"] = [group.needs(spec)]
    job["timeout"] = jobs.TIMEOUTS["live-boot"]
    junit = out_file(spec.name, live.REPORT)
    job["artifacts"] = jobs.artifacts(boot_outputs(spec.name, firmwares), jobs.REPORT_EXPIRY, junit)
    job["rules"] = jobs.rules()
    return job


def publish_job(options: Options) -> dict[str, Any]:
    """After every earlier job passed. No `needs`: it takes all their artifacts, and GitLab
    limits `needs` to 50 jobs."""
    script = [f'fai-overlay publish {OUT} --to "$PUBLISH_TREE"']
    job = jobs.job("publish", options.tags_for(jobs.PUBLISH), script, options)
    job["resource_group"] = "fai-overlay-publish"
    job["rules"] = jobs.rules(publish=True)
    return job


def job_names(group: BuildGroup, spec: ImageSpec) -> tuple[str, str]:
    """The offline-test and live-boot jobs of one image."""
    key = f"{group.definition.key} {spec.arch.name}"
    return f"offline-test {key}", f"live-boot {key}"


def pipeline(definitions: Sequence[Definition], options: Options) -> dict[str, Any]:
    """The whole pipeline, its jobs in a stable order: schedule, builds, tests, boots, publish."""
    if not definitions:
        raise OverlayError("no image definition given", hint=NO_DEFINITION_HINT)
    doc: dict[str, Any] = {
        "workflow": jobs.workflow(),
        "stages": list(jobs.STAGES),
        "variables": {
            "PUBLISH_TREE": {
                "value": options.publish_to,
                "description": "the published tree on the publish runner (fai-overlay publish --to)",
            },
            "BUILD_OPTIONS": {
                "value": "",
                "description": "more options for every fai-overlay build, e.g. --mirror URL",
            },
        },
    }
    specs = [spec for d in definitions for spec in d.specs]
    doc.update(schedule.pipeline_jobs(specs, options))
    groups = [g for d in definitions for g in build_groups(d, options)]
    for group in groups:
        doc[group.job] = build_job(group, options)
    for group in groups:
        for spec in group.specs:
            doc[job_names(group, spec)[0]] = test_job(group, spec, options)
    for group in groups:
        for spec in group.specs:
            doc[job_names(group, spec)[1]] = boot_job(group, spec, options)
    doc["publish"] = publish_job(options)
    return doc
