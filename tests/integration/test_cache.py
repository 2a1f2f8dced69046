"""The package cache: a cold build fills it (debootstrap and apt both go through it), a warm rebuild
from it downloads nothing, and no trace of it is left in either image."""

from __future__ import annotations

import pytest

from tests.support import cli

pytestmark = [pytest.mark.integration, pytest.mark.builds("genericcloud", "genericcloud-warm")]


def deb_name(package: dict[str, str]) -> str:
    version = package["version"].split(":", 1)[-1]
    return f"{package['name']}_{version}_{package['architecture']}.deb"


def test_a_cold_build_fetches_every_package_through_the_cache(builder, genericcloud) -> None:  # type: ignore[no-untyped-def]
    use = genericcloud.manifest["checks"]["package_cache"]
    assert use["mode"] == "auto" and use["fetched_packages"] >= len(genericcloud.package_names())
    cached = {p.name for p in (builder.root / "apt-cache").rglob("*.deb")}
    missing = [deb_name(p) for p in genericcloud.manifest["packages"] if deb_name(p) not in cached]
    assert not missing, f"installed without going through the cache: {missing[:5]}"
    assert "FAI_OVERLAY_MIRROR" in genericcloud.manifest["classes"]


def test_a_warm_rebuild_downloads_nothing(builder, genericcloud) -> None:  # type: ignore[no-untyped-def]
    warm = builder.image("genericcloud-warm")
    use = warm.manifest["checks"]["package_cache"]
    assert use["mode"] == "offline" and use["fetched_files"] == 0 and use["fetched_bytes"] == 0
    assert use["served_files"] >= len(warm.package_names())
    assert {(p["name"], p["version"]) for p in warm.manifest["packages"]} == {
        (p["name"], p["version"]) for p in genericcloud.manifest["packages"]
    }
    for image in (genericcloud, warm):
        proc = cli("test", image.raw)
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = (image.out_dir / f"{image.name}.test.junit.xml").read_text()
        assert (
            "test_no_apt_proxy_settings" in report and "test_no_build_proxy_in_environment_files" in report
        )
