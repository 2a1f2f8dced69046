"""Every offline check has a planted fault (tests/faults.py); faults sharing a copy never share a check."""

from __future__ import annotations

import ast

from tests import faults
from tests.support import REPO

CHECKS = REPO / "overlay/verify/checks"


def offline_checks() -> set[str]:
    """module.test of every test function in the offline check modules."""
    out = set()
    for path in sorted(CHECKS.glob("test_offline_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                out.add(f"{path.stem}.{node.name}")
    return out


def test_every_offline_check_has_a_planted_fault() -> None:
    planted = {check.split("[")[0] for fault in faults.faults() for check in fault.expect}
    missing = offline_checks() - planted
    assert not missing, (
        f"offline checks without a planted fault (add one to tests/faults.py): {sorted(missing)}"
    )
    assert planted <= offline_checks(), (
        f"faults expect checks that do not exist: {sorted(planted - offline_checks())}"
    )


def test_every_parameter_of_the_tree_checks_has_a_fault() -> None:
    from overlay.verify.target import expectations

    planted = {check for fault in faults.faults() for check in fault.expect}
    for rel in expectations()["empty_dirs"]:
        assert f"test_offline_tree.test_directory_is_empty[{rel}]" in planted
    for rel in expectations()["absent"]:
        assert f"test_offline_tree.test_build_leftover_absent[{rel}]" in planted
    for keyword in expectations()["sshd"]["forbidden"]:
        assert f"test_offline_sshd.test_sshd_setting_is_safe[{keyword}]" in planted


def test_faults_in_one_copy_never_share_a_check() -> None:
    chosen = faults.faults()
    groups = faults.groups(chosen)
    assert sorted(f.name for g in groups for f in g) == sorted(f.name for f in chosen)
    for group in groups:
        checks = [check for fault in group for check in fault.expect]
        assert len(checks) == len(set(checks))
    assert len(groups) == max(sum(check in f.expect for f in chosen) for f in chosen for check in f.expect)


def test_judging_names_what_was_not_caught_and_what_failed_unplanted() -> None:
    facts = faults.Facts({"image": {"release": "trixie"}, "packages": []})
    fault = faults.Fault("x", {"m.test_a": ("one", "{release}-security"), "m.test_b": "two"})
    failed = {"m.test_a": "one ... trixie-security", "m.test_c": "boom"}
    assert faults.judge(failed, [fault], facts) == [
        "m.test_c failed, but no fault was planted for it",
        "m.test_b did not fail",
    ]
    assert faults.judge({"m.test_a": "one", "m.test_b": "two"}, [fault], facts) == [
        "m.test_a failed without 'trixie-security' in its message"
    ]
