from pathlib import Path

import pytest
import yaml


@pytest.mark.offline
def test_hosts_setting_installed(image_root: Path) -> None:
    path = image_root / "etc/cloud/cloud.cfg.d/99_fai_overlay_hosts.cfg"
    assert yaml.safe_load(path.read_text()) == {"manage_etc_hosts": True}


@pytest.mark.live
def test_hostname_in_etc_hosts(host) -> None:  # type: ignore[no-untyped-def]
    name = host.check_output("hostname").strip()
    assert name in host.file("/etc/hosts").content_string
