"""cloud-init, where the vendor uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.offline


def _merged_config(image_root: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    files = [
        image_root / "etc/cloud/cloud.cfg",
        *sorted((image_root / "etc/cloud/cloud.cfg.d").glob("*.cfg")),
    ]
    for path in files:
        if path.is_file():
            merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def test_cloud_init_manages_etc_hosts(image_root: Path, fo) -> None:  # type: ignore[no-untyped-def]
    if "cloud-init" not in fo.packages():
        pytest.skip(f"{fo.vendor} images do not use cloud-init")
    value = _merged_config(image_root).get("manage_etc_hosts")
    assert value in (True, "localhost", "template"), (
        f"cloud-init does not manage /etc/hosts (manage_etc_hosts: {value!r}); "
        "the hostname will not resolve (Debian bug #942325)"
    )
