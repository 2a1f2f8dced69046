"""sources: find, download and verify exact source versions; report every missing one."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from overlay.core.errors import ExitCode, OverlayError
from overlay.publish import archive, sources
from tests.fixtures import publishkit as kit

MIRROR, SECURITY = archive.DEFAULT_MIRROR, archive.DEFAULT_SECURITY_MIRROR


def collect(doc: dict[str, object], out: Path, fetcher: kit.FakeFetcher) -> sources.SourcesResult:
    """sources.collect, verifying the fake mirror with the test run's archive key."""
    return sources.collect(kit.typed(doc), out, fetcher, trust=kit.archive_key().trust())


def wanted(*pairs: tuple[str, str]) -> dict[str, object]:
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": n, "version": v} for n, v in pairs]
    return doc


def fake_mirror() -> kit.FakeFetcher:
    fetcher = kit.FakeFetcher()
    kit.add_suite(
        fetcher.files, MIRROR, "trixie", sources={"adduser_3.152": b"adduser", "jq_1.7.1-6": b"jq"}
    )
    kit.add_suite(fetcher.files, MIRROR, "trixie-updates")
    kit.add_suite(fetcher.files, SECURITY, "trixie-security", sources={"glibc_2.41-12+deb13u1": b"glibc"})
    return fetcher


def test_all_found_verified_and_bundled(tmp_path: Path) -> None:
    doc = wanted(("adduser", "3.152"), ("glibc", "2.41-12+deb13u1"), ("jq", "1.7.1-6"))
    result = collect(doc, tmp_path, fake_mirror())
    sources.write_bundle(result, tmp_path)
    assert result.missing == [] and len(result.fetched) == result.expected == 3
    assert {f.entry.suite for f in result.fetched} == {"trixie", "trixie-security"}
    bundle = tmp_path / f"{kit.NAME}.sources"
    assert (bundle / "glibc_2.41-12+deb13u1.tar.xz").read_bytes() == b"glibc"
    with tarfile.open(tmp_path / f"{kit.NAME}.sources.tar") as tar:
        names = sorted(tar.getnames())
    assert f"{kit.NAME}.sources/{kit.NAME}.sources.json" in names
    assert f"{kit.NAME}.sources/jq_1.7.1-6.dsc" in names and len(names) == 2 + 6
    index = json.loads((tmp_path / f"{kit.NAME}.sources.json").read_text())
    assert index["count"] == 3 and index["complete"] and index["missing"] == []
    text = (tmp_path / f"{kit.NAME}.sources.txt").read_text().splitlines()
    assert text[1] == f"adduser 3.152 trixie {MIRROR}/pool/main/a/adduser/adduser_3.152.dsc"


def test_missing_versions_are_reported_one_by_one(tmp_path: Path) -> None:
    doc = wanted(("adduser", "3.150"), ("jq", "1.7.1-6"), ("gone", "1.0"))
    result = collect(doc, tmp_path, fake_mirror())
    sources.write_bundle(result, tmp_path)
    assert [f.entry.name for f in result.fetched] == ["jq"]
    assert [(m.name, m.version, m.available) for m in result.missing] == [
        ("adduser", "3.150", ["3.152"]),
        ("gone", "1.0", []),
    ]
    assert "(it has 3.152)" in result.missing[0].reason
    lines = (tmp_path / f"{kit.NAME}.sources.txt").read_text().splitlines()
    assert [line for line in lines if line.startswith("MISSING")] == [
        f"MISSING adduser 3.150: {result.missing[0].reason}",
        f"MISSING gone 1.0: {result.missing[1].reason}",
    ]
    assert json.loads((tmp_path / f"{kit.NAME}.sources.json").read_text())["complete"] is False


def test_a_version_the_index_no_longer_lists_is_found_in_the_pool(tmp_path: Path) -> None:
    fetcher = fake_mirror()
    dsc = b"Format: 3.0 (native)\nSource: adduser\nVersion: 3.150\nChecksums-Sha256:\n"
    dsc += f" {hashlib.sha256(b'old').hexdigest()} 3 adduser_3.150.tar.xz\n".encode()
    fetcher.files[f"{MIRROR}/pool/main/a/adduser/adduser_3.150.dsc"] = dsc
    fetcher.files[f"{MIRROR}/pool/main/a/adduser/adduser_3.150.tar.xz"] = b"old"
    result = collect(wanted(("adduser", "3.150")), tmp_path, fetcher)
    assert result.missing == [] and result.fetched[0].entry.suite == "trixie (pool)"
    assert (tmp_path / f"{kit.NAME}.sources/adduser_3.150.tar.xz").read_bytes() == b"old"


def test_a_file_that_does_not_match_the_dsc_is_an_error(tmp_path: Path) -> None:
    fetcher = fake_mirror()
    fetcher.files[f"{MIRROR}/pool/main/j/jq/jq_1.7.1-6.tar.xz"] = b"evil"
    with pytest.raises(OverlayError, match="jq_1.7.1-6.tar.xz does not match its checksum") as err:
        collect(wanted(("jq", "1.7.1-6")), tmp_path, fetcher)
    assert err.value.code is ExitCode.FAILED
    assert not (tmp_path / f"{kit.NAME}.sources/jq_1.7.1-6.tar.xz").exists()


def test_a_second_run_downloads_nothing_again(tmp_path: Path) -> None:
    fetcher = fake_mirror()
    doc = wanted(("adduser", "3.152"), ("jq", "1.7.1-6"))
    collect(doc, tmp_path, fetcher)
    fetcher.requested.clear()
    collect(doc, tmp_path, fetcher)
    assert [u for u in fetcher.requested if "/pool/" in u] == []


def test_pool_paths() -> None:
    assert archive.pool_directory("main", "libxml2") == "pool/main/libx/libxml2"
    assert archive.pool_directory("main", "glibc") == "pool/main/g/glibc"
    assert archive.dsc_name("shadow", "1:4.17.4-2") == "shadow_4.17.4-2.dsc"


def test_cli_reports_missing_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    monkeypatch.setattr(verb, "Fetcher", lambda **_: fake_mirror())
    path = tmp_path / "m.build.json"
    keyring = ["--keyring", str(kit.archive_key().keyring)]
    path.write_text(json.dumps(wanted(("jq", "1.7.1-6"), ("gone", "1.0"))))
    assert cli.main(["-q", "sources", str(path), "-o", str(tmp_path / "src"), *keyring]) == 1
    captured = capsys.readouterr()
    assert "MISSING gone 1.0: version 1.0 is not on" in captured.out
    assert "1 of 2 source packages are not on the mirror" in captured.err
    assert "snapshot.debian.org" in captured.err
    path.write_text(json.dumps(wanted(("jq", "1.7.1-6"))))
    assert cli.main(["-q", "sources", str(path), "-o", str(tmp_path / "src"), "--json", *keyring]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 1
