"""The scheduled pipeline: check-updates on the published manifests, then rebuild only if they say so.

Rules are evaluated when a pipeline is created, so no rule can react to a
job's result. `check-updates` therefore writes the child pipeline and the
`rebuild` job triggers it (a dynamic child pipeline): when an image has
updates or was never published, the child is this same pipeline, whose build,
test, boot and publish jobs run there (CI_PIPELINE_SOURCE is parent_pipeline);
otherwise it is one job that says there is nothing to rebuild.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from overlay.ci import jobs
from overlay.core.errors import ExitCode
from overlay.definition.spec import ImageSpec
from overlay.publish import tree
from overlay.publish.tree import Kind

CHILD = "rebuild.yml"  # check-updates' artifact: the child pipeline
CHECK_JOB = "check-updates"
TRIGGER_JOB = "rebuild"
NOTHING_JOB = "nothing-to-rebuild"
TREE_VAR = "$PUBLISH_TREE"
CHILD_EXPIRY = "1 week"


def published_manifests(specs: Sequence[ImageSpec]) -> list[str]:
    """Shell words for each image's manifest in the newest daily of the published tree."""
    words: list[str] = []
    for spec in specs:
        path = tree.latest_manifest(Path(TREE_VAR), spec.release, Kind.daily, spec.name)
        word = f'"{TREE_VAR}"/{shlex.quote(str(path.relative_to(TREE_VAR)))}'
        if word not in words:
            words.append(word)
    return words


def check_script(manifests: Sequence[str]) -> str:
    """Sets rebuild=yes when an image has updates (exit 10 or 20) or was never published."""
    listed = " \\\n    ".join(manifests)
    return f"""rebuild=no
for manifest in {listed}; do
  if [ ! -e "$manifest" ]; then
    echo "$manifest: not published yet"
    rebuild=yes
    continue
  fi
  rc=0
  fai-overlay check-updates "$manifest" || rc=$?
  case $rc in
    {int(ExitCode.OK)}) ;;
    {int(ExitCode.UPDATES)}|{int(ExitCode.SECURITY_UPDATES)}) rebuild=yes ;;
    *) echo "fai-overlay check-updates failed (exit $rc)" >&2; exit "$rc" ;;
  esac
done
"""


def nothing_pipeline(options: jobs.Options) -> dict[str, Any]:
    """The child pipeline when nothing has updates: one job that says so."""
    job: dict[str, Any] = {}
    if options.image:
        job["image"] = options.image
    job["tags"] = options.tags_for(jobs.PUBLISH)
    job["script"] = ['echo "no published image has updates: nothing to rebuild"']
    return {NOTHING_JOB: job}


def child_script(options: jobs.Options) -> str:
    return f"""if [ "$rebuild" = yes ]; then
  echo "rebuilding: the child pipeline is this pipeline"
  cp "${{CI_CONFIG_PATH:-.gitlab-ci.yml}}" {CHILD}
else
  cat > {CHILD} <<'EOF'
{jobs.dump(nothing_pipeline(options))}EOF
fi
"""


def pipeline_jobs(specs: Sequence[ImageSpec], options: jobs.Options) -> dict[str, Any]:
    """The two jobs of a scheduled pipeline: check-updates, and the trigger of its child pipeline."""
    check = jobs.job(
        "check",
        options.tags_for(jobs.PUBLISH),
        [check_script(published_manifests(specs)), child_script(options)],
        options,
    )
    check["artifacts"] = {"paths": [CHILD], "expire_in": CHILD_EXPIRY}
    check["rules"] = jobs.rules(scheduled=True)
    trigger = {
        "stage": "build",
        "needs": [CHECK_JOB],
        "trigger": {"include": [{"artifact": CHILD, "job": CHECK_JOB}], "strategy": "depend"},
        "rules": jobs.rules(scheduled=True),
    }
    return {CHECK_JOB: check, TRIGGER_JOB: trigger}
