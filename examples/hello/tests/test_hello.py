"""The hello overlay's own checks, run by `fai-overlay test` (offline) and `boot` (live)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest


@pytest.mark.offline
def test_script_installed_with_its_mode(image_root: Path) -> None:
    script = image_root / "usr/local/bin/hello-fai-overlay"
    assert script.is_file(), "the hello script is missing"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755, "file-modes should make the script 0755"


@pytest.mark.offline
def test_motd_rendered_from_variables(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    motd = (image_root / "etc/motd").read_text()
    assert motd.startswith("Hello from fai-overlay: "), f"unexpected /etc/motd: {motd!r}"
    assert fo.manifest.name in motd


@pytest.mark.offline
@pytest.mark.live
def test_jq_is_installed(host) -> None:  # type: ignore[no-untyped-def]
    assert host.package("jq").is_installed


@pytest.mark.live
def test_script_runs(host) -> None:  # type: ignore[no-untyped-def]
    out = host.check_output("/usr/local/bin/hello-fai-overlay")
    assert out.startswith("hello from Debian GNU/Linux"), out
