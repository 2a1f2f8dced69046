"""Checks on the booted VM, over ssh (testinfra), as the default user with sudo."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.live


def test_cloud_init_finished_without_errors(host) -> None:  # type: ignore[no-untyped-def]
    status = json.loads(host.check_output("cloud-init status --wait --format json"))
    assert status.get("status") == "done", f"cloud-init status is {status.get('status')!r}, not 'done'"
    result = json.loads(host.file("/run/cloud-init/result.json").content_string)
    assert result["v1"]["errors"] == [], f"cloud-init reported errors: {result['v1']['errors']}"
    stages = json.loads(host.file("/run/cloud-init/status.json").content_string)["v1"]
    problems = {
        name: (stage.get("errors"), stage.get("recoverable_errors"))
        for name, stage in stages.items()
        if isinstance(stage, dict) and (stage.get("errors") or stage.get("recoverable_errors"))
    }
    assert not problems, f"cloud-init stages reported errors or warnings: {problems}"


def test_no_failed_units(host) -> None:  # type: ignore[no-untyped-def]
    failed = host.check_output("systemctl --failed --no-legend --plain --no-pager").strip()
    assert not failed, f"systemd units failed:\n{failed}"


def test_root_filesystem_grew_to_the_disk(host, fo) -> None:  # type: ignore[no-untyped-def]
    disk_bytes = int(fo.ssh["disk_bytes"])
    fs_bytes = int(host.check_output("findmnt -bno SIZE /").strip())
    assert fs_bytes > 0.85 * disk_bytes, (
        f"/ is {fs_bytes >> 20} MiB on a {disk_bytes >> 20} MiB disk: growroot/growfs did not run"
    )


def test_ssh_host_keys_were_generated_at_first_boot(host, fo) -> None:  # type: ignore[no-untyped-def]
    keys = host.check_output("cat /etc/ssh/ssh_host_*_key.pub").split("\n")
    served = {" ".join(k.split()[:2]) for k in keys if k.strip()}
    pinned = {" ".join(k.split()[:2]) for k in fo.ssh["host_keys"]}
    assert served, "the VM has no ssh host keys"
    assert pinned <= served, "the keys cloud-init printed on the console are not the VM's keys"


def test_hostname_from_meta_data_resolves(host, fo) -> None:  # type: ignore[no-untyped-def]
    name = fo.ssh["hostname"]
    assert host.check_output("hostname").strip() == name, "the hostname is not the one from meta-data"
    assert host.run(f"getent hosts {name}").rc == 0, f"{name} does not resolve on the VM"
    assert name in host.file("/etc/hosts").content_string, (
        f"{name} is not in /etc/hosts (Debian bug #942325)"
    )


def test_time_sync_is_active(host) -> None:  # type: ignore[no-untyped-def]
    units = ["systemd-timesyncd", "chrony", "ntpsec"]
    active = [u for u in units if host.run(f"systemctl is-active --quiet {u}").rc == 0]
    assert active, f"no time synchronisation service is active (tried {', '.join(units)})"


CONTENTS_TARGETS = ("Contents-deb", "Contents-deb-legacy", "Contents-udeb")


def test_dns_and_apt_metadata_reachable(host) -> None:  # type: ignore[no-untyped-def]
    assert host.run("getent hosts deb.debian.org").rc == 0, "DNS does not work through the user-mode network"
    # Reachability of the package indices, not the mirror's freshness: an expired
    # Release file (a lagging mirror) must not count as unreachable, nor a Contents
    # index that apt-file asks for and a mirror in mid-sync serves with the wrong size.
    update = host.run(
        "apt-get update -q -o APT::Update::Error-Mode=any -o Acquire::Check-Valid-Until=false "
        + " ".join(f"-o Acquire::IndexTargets::deb::{t}::DefaultEnabled=false" for t in CONTENTS_TARGETS)
    )
    assert update.rc == 0, f"apt-get update failed:\n{(update.stdout + update.stderr)[-1500:]}"


def test_default_user_has_passwordless_sudo(user_host, fo) -> None:  # type: ignore[no-untyped-def]
    assert user_host.check_output("id -un").strip() == fo.ssh["user"]
    assert user_host.run("sudo -n true").rc == 0, f"{fo.ssh['user']} cannot sudo without a password"
