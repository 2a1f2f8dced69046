"""apt sources: deb822, each target once, no backports unless asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.offline


def _deb822(image_root: Path) -> list[dict[str, str]]:
    stanzas = []
    for path in sorted((image_root / "etc/apt/sources.list.d").glob("*.sources")):
        for block in path.read_text().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                if ":" in line and not line.startswith((" ", "#")):
                    key, _, value = line.partition(":")
                    fields[key.strip()] = value.strip()
            if fields and fields.get("Enabled", "yes").lower() != "no":
                stanzas.append(fields)
    return stanzas


def test_sources_are_deb822(image_root: Path) -> None:
    assert _deb822(image_root), "no deb822 sources in /etc/apt/sources.list.d/*.sources"
    legacy = image_root / "etc/apt/sources.list"
    if legacy.exists():
        live = [
            ln for ln in legacy.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")
        ]
        assert not live, f"/etc/apt/sources.list still has entries: {live[0]}"
    old = sorted(p.name for p in (image_root / "etc/apt/sources.list.d").glob("*.list"))
    assert not old, f"one-line-style sources besides deb822: {', '.join(old)}"


def test_no_target_configured_twice(image_root: Path, runner, fo) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(
        [
            "apt-get",
            "-o",
            f"Dir={image_root}",
            "-o",
            f"APT::Architecture={fo.arch}",
            "-o",
            "Dir::State::Lists=/nonexistent",
            "-o",
            "Debug::NoLocking=1",
            "indextargets",
        ],
        check=False,
    )
    output = (result.stdout + result.stderr).replace(str(image_root), "").splitlines()
    dupes = [ln for ln in output if "configured multiple times" in ln]
    assert not dupes, f"apt sources configure a target twice (Debian bug #942326): {dupes[0]}"
    errors = [ln for ln in output if ln.startswith("E:")] or output[-1:]
    assert result.returncode == 0, (
        f"apt-get cannot read the image's sources (exit {result.returncode}), so apt would not work "
        f"on an instance: {errors[0] if errors else 'no output'}"
    )


def test_security_and_updates_present(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    suites = {s for st in _deb822(image_root) for s in st.get("Suites", "").split()}
    release = fo.release
    missing = {release, f"{release}-security"} - suites
    assert not missing, f"apt sources lack {', '.join(sorted(missing))}"


def test_no_backports_unless_asked(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    suites = {s for st in _deb822(image_root) for s in st.get("Suites", "").split()}
    backports = sorted(s for s in suites if s.endswith("-backports"))
    if fo.expect["backports"]:
        # asked for (backports: true), or the base enables them (debian-cloud-images does): the
        # release's own backports, and no other release's
        wanted = f"{fo.release}-backports"
        assert backports == [wanted], (
            f"this image should enable exactly {wanted} (it asked for backports, or its base enables "
            f"them), but its sources have: {', '.join(backports) or 'no backports'}"
        )
    else:
        assert not backports, (
            f"backports are enabled although the image did not ask for them: {', '.join(backports)}"
        )
