"""Packages, read with the host's dpkg-query from the image's database (no image binaries run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.core import commands

pytestmark = pytest.mark.offline


def _packages(image_root: Path, runner) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    fmt = "${binary:Package} ${db:Status-Want} ${db:Status-Status}\n"
    out = runner.run(commands.dpkg_query(image_root / "var/lib/dpkg", fmt)).stdout
    result = {}
    for line in out.splitlines():
        name, want, status = line.split()
        result[name] = (want, status)
    return result


def test_every_package_is_installed(image_root: Path, runner) -> None:  # type: ignore[no-untyped-def]
    bad = [
        f"{n} ({w}/{s})"
        for n, (w, s) in _packages(image_root, runner).items()
        if (w, s) != ("install", "installed")
    ]
    assert not bad, f"packages not cleanly installed (want/status): {', '.join(bad)}"


def test_kernel_flavour_matches_vendor(image_root: Path, runner, fo) -> None:  # type: ignore[no-untyped-def]
    wanted = fo.arch_spec.kernel[fo.vendor]
    # The host's dpkg-query qualifies foreign-architecture names (name:<arch>).
    installed = {n.split(":")[0] for n in _packages(image_root, runner)}
    assert wanted in installed, f"{fo.vendor} images on {fo.arch} need {wanted}, which is not installed"
    others = sorted(
        n
        for n in installed
        if n.startswith("linux-image-") and "-" not in n[len("linux-image-") :] and n != wanted
    )
    assert not others, f"other kernel flavours are installed besides {wanted}: {', '.join(others)}"


def test_manifest_matches_image(image_root: Path, runner, fo) -> None:  # type: ignore[no-untyped-def]
    installed = {n.split(":")[0] for n in _packages(image_root, runner)}
    recorded = fo.manifest.package_names()
    assert recorded == installed, (
        f"the manifest and the image disagree: only in manifest "
        f"{sorted(recorded - installed)[:10]}, only in image {sorted(installed - recorded)[:10]}"
    )
