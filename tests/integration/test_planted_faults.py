"""Every offline check proves it can fail: faults planted into copies of the default image.

Each fault changes one thing in a sparse copy of the suite's default build (see
tests/faults.py); faults that hit different checks share a copy. On each copy
`fai-overlay test` must fail exactly the planted faults' checks, each with its
message. FAI_OVERLAY_FAULTS_IMAGE=IMAGE.raw (its manifest next to it) runs them
on that image instead of building, e.g. /work/images/genericcloud's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests import faults

pytestmark = [pytest.mark.integration, pytest.mark.builds("default")]


@pytest.fixture(scope="module")
def source(request: pytest.FixtureRequest) -> Path:
    given = os.environ.get("FAI_OVERLAY_FAULTS_IMAGE")
    if given:
        return Path(given).resolve()
    builder = request.getfixturevalue("builder")
    return builder.image("default").raw  # type: ignore[no-any-return]


def test_every_offline_check_catches_its_planted_fault(
    source: Path, tmp_path: Path, artifacts: Path
) -> None:
    chosen = faults.applicable(source)
    groups = faults.groups(chosen)
    report = []
    problems = []
    t0 = time.monotonic()
    for i, group in enumerate(groups):
        outcome = faults.run_group(source, tmp_path / f"copy{i}", group)
        outcome.raw.unlink()
        report.append(f"copy{i}: {', '.join(f.name for f in group)} {outcome.seconds}")
        problems += [f"copy{i}: {p}" for p in outcome.problems]
        assert (
            "offline checks of" in outcome.stderr.strip().splitlines()[-1]
        )  # the last line names the failure
    (artifacts / "planted-faults.txt").write_text("\n".join(report) + f"\n{time.monotonic() - t0:.1f}s\n")
    assert not problems, "\n".join(problems)
    checked = {check for fault in chosen for check in fault.expect}
    assert len(checked) >= 55 and len(groups) <= 3
