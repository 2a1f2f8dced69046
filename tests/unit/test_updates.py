"""check-updates: Debian version ordering, security and reboot marks, backports, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overlay.core.errors import ExitCode, OverlayError
from overlay.publish import archive, updates
from tests.fixtures import publishkit as kit

MIRROR, SECURITY = archive.DEFAULT_MIRROR, archive.DEFAULT_SECURITY_MIRROR


def trust(**kwargs: object) -> archive.Trust:
    """Verification with the test run's archive key (the fake mirror is signed with it)."""
    return kit.archive_key().trust(**kwargs)


def mirror(**suites: list[tuple[str, str, str]]) -> kit.FakeFetcher:
    fetcher = kit.FakeFetcher()
    for suite, packages in suites.items():
        name = suite.replace("_", "-")
        base = SECURITY if name.endswith("-security") else MIRROR
        kit.add_suite(fetcher.files, base, name, packages=packages)
    return fetcher


def installed(*pkgs: tuple[str, str, str], backports: tuple[str, ...] = ()) -> dict[str, object]:
    return kit.manifest_doc(
        packages=[
            kit.package(n, v, a, suites=("trixie-backports",) if n in backports else ("trixie",))
            for n, v, a in pkgs
        ]
    )


def test_versions_use_debian_ordering_not_strings() -> None:
    doc = installed(("aa", "1.9-1", "amd64"), ("bb", "2.0-1", "amd64"), ("cc", "1:0.5-1", "amd64"))
    fetcher = mirror(
        trixie=[("aa", "1.10-1", "amd64"), ("bb", "2.0~rc1-1", "amd64"), ("cc", "3.0-1", "amd64")],
        trixie_updates=[],
        trixie_security=[],
    )
    report = updates.check(kit.typed(doc), fetcher, trust=trust())
    # "1.10" > "1.9" (as strings it is not); "2.0~rc1" < "2.0"; epoch 1: beats 3.0
    assert [(u.name, u.candidate) for u in report.updates] == [("aa", "1.10-1")]
    assert report.exit_code is ExitCode.UPDATES


def test_security_and_reboot_marks_and_exit_20() -> None:
    doc = installed(
        ("libc6", "2.41-12", "amd64"),
        ("openssl", "3.5.1-1", "amd64"),
        ("linux-image-6.12.48+deb13-cloud-amd64", "6.12.48-1", "amd64"),
        ("adduser", "3.152", "all"),
    )
    fetcher = mirror(
        trixie=[("libc6", "2.41-12", "amd64"), ("openssl", "3.5.1-1", "amd64"), ("adduser", "3.152", "all")],
        trixie_updates=[("libc6", "2.41-12+deb13u1", "amd64")],
        trixie_security=[
            ("openssl", "3.5.1-1+deb13u1", "amd64"),
            ("linux-image-6.12.48+deb13-cloud-amd64", "6.12.48-2", "amd64"),
        ],
    )
    report = updates.check(kit.typed(doc), fetcher, trust=trust())
    got = {u.name: (u.candidate, u.suite, u.security, bool(u.reboot)) for u in report.updates}
    assert got == {
        "libc6": ("2.41-12+deb13u1", "trixie-updates", False, True),
        "openssl": ("3.5.1-1+deb13u1", "trixie-security", True, False),
        "linux-image-6.12.48+deb13-cloud-amd64": ("6.12.48-2", "trixie-security", True, True),
    }
    assert report.exit_code is ExitCode.SECURITY_UPDATES
    data = report.to_json()
    assert data["exit_code"] == 20 and data["security"] == 2
    assert data["needs_reboot"] == ["libc6", "linux-image-6.12.48+deb13-cloud-amd64"]
    assert any(url.startswith(SECURITY + "/dists/trixie-security/") for url in fetcher.requested)
    text = updates.render(report)
    assert "3 newer, 2 security, 2 need a reboot" in text and "security,needs-reboot" in text


def test_backports_only_for_packages_installed_from_backports() -> None:
    doc = installed(
        ("cloud-init", "25.1-1", "all"),
        ("linux-image-cloud-amd64", "6.12.48-1", "amd64"),
        backports=("cloud-init",),
    )
    fetcher = mirror(
        trixie=[("cloud-init", "24.4-1", "all"), ("linux-image-cloud-amd64", "6.12.48-1", "amd64")],
        trixie_updates=[],
        trixie_security=[],
        trixie_backports=[
            ("cloud-init", "25.2-1~bpo13+1", "all"),
            ("linux-image-cloud-amd64", "6.16.3-1~bpo13+1", "amd64"),
        ],
    )
    report = updates.check(kit.typed(doc), fetcher, trust=trust())
    assert [(u.name, u.candidate, u.suite) for u in report.updates] == [
        ("cloud-init", "25.2-1~bpo13+1", "trixie-backports")
    ]
    assert "trixie-backports" in report.suites


def test_nothing_newer_exit_0_and_local_packages_listed() -> None:
    doc = installed(("adduser", "3.152", "all"), ("site-tools", "1.0", "all"))
    report = updates.check(
        kit.typed(doc),
        mirror(trixie=[("adduser", "3.152", "all")], trixie_updates=[], trixie_security=[]),
        trust=trust(),
    )
    assert report.updates == [] and report.exit_code is ExitCode.OK
    assert report.not_in_mirror == ["site-tools:all"]
    assert updates.render(report).endswith("nothing newer in trixie, trixie-updates, trixie-security")


def test_missing_suites_are_skipped_but_a_missing_release_is_an_error() -> None:
    doc = installed(("adduser", "3.152", "all"))
    report = updates.check(kit.typed(doc), mirror(trixie=[("adduser", "3.150", "all")]), trust=trust())
    assert report.suites == ["trixie"] and report.exit_code is ExitCode.OK
    with pytest.raises(OverlayError, match="release 'trixie' is not on the mirror") as err:
        updates.check(kit.typed(doc), kit.FakeFetcher(), trust=trust())
    assert err.value.code is ExitCode.FAILED


def test_index_with_a_wrong_checksum_is_refused() -> None:
    fetcher = mirror(trixie=[("adduser", "3.152", "all")])
    url = f"{MIRROR}/dists/trixie/main/binary-amd64/Packages.xz"
    fetcher.files[url] = fetcher.files[url][:-1] + b"\0"
    with pytest.raises(OverlayError, match="does not match the sha256 in its Release file"):
        updates.check(kit.typed(installed(("adduser", "3.152", "all"))), fetcher, trust=trust())


def test_reboot_list_is_documented_data_and_always_has_the_core() -> None:
    patterns = updates.reboot_patterns()
    for name in ("linux-image-6.12.48+deb13-amd64", "libc6", "systemd", "dbus-daemon", "intel-microcode"):
        assert updates.needs_reboot(name, patterns), name
    assert updates.needs_reboot("openssl", patterns) is None
    assert updates.needs_reboot("linux-image-cloud-amd64", updates.CORE_REBOOT)
    text = (Path(updates.__file__).parent.parent / "data/reboot-packages.yaml").read_text()
    assert "docs/publishing.md" in text


def test_mirror_override_is_used(tmp_path: Path) -> None:
    fetcher = kit.FakeFetcher()
    kit.add_suite(
        fetcher.files, "http://snapshot.example/debian", "trixie", packages=[("adduser", "3.153", "all")]
    )
    doc = installed(("adduser", "3.152", "all"))
    report = updates.check(
        kit.typed(doc),
        fetcher,
        trust=trust(),
        mirror="http://snapshot.example/debian",
        security_mirror="http://x/sec",
    )
    assert [u.candidate for u in report.updates] == ["3.153"]
    assert json.loads(json.dumps(report.to_json()))["suites"] == ["trixie"]


def test_cli_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    fetcher = mirror(trixie=[("adduser", "3.153", "all")], trixie_security=[("libc6", "2.41-13", "amd64")])
    monkeypatch.setattr(verb, "Fetcher", lambda **_: fetcher)
    path = tmp_path / "m.build.json"
    keyring = ["--keyring", str(kit.archive_key().keyring)]
    path.write_text(json.dumps(installed(("adduser", "3.152", "all"))))
    assert cli.main(["-q", "check-updates", str(path), "--json", *keyring]) == 10
    assert json.loads(capsys.readouterr().out)["updates"][0]["candidate"] == "3.153"
    path.write_text(json.dumps(installed(("libc6", "2.41-12", "amd64"))))
    assert cli.main(["-q", "check-updates", str(path), *keyring]) == 20
    path.write_text(json.dumps(installed(("adduser", "3.153", "all"))))
    assert cli.main(["-q", "check-updates", str(path), *keyring]) == 0
    path.write_text("{}")
    assert cli.main(["-q", "check-updates", str(path), *keyring]) == 2
