"""The typed archive readers: Release, Packages, Sources and .dsc through python-debian.

A wrong or hostile entry is one OverlayError naming the file, the entry and
the field; a file name from the archive never leads outside the output.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from overlay.core.errors import ExitCode, OverlayError
from overlay.publish import archive, entries, sources
from tests.fixtures import publishkit as kit

MIRROR, SECURITY = archive.DEFAULT_MIRROR, archive.DEFAULT_SECURITY_MIRROR
SHA = hashlib.sha256(b"x").hexdigest()
WHERE = "http://m/dists/trixie/main/source/Sources.xz"


def test_release_fields() -> None:
    text = (
        "Suite: stable-security\nCodename: trixie-security\nComponents: updates/main updates/contrib\n"
        "Date: Mon, 30 Nov 2026 00:22:33 UTC\nValid-Until: Mon, 07 Dec 2026 00:22:33 UTC\n"
        f"SHA256:\n {SHA} 1 main/binary-amd64/Packages.xz\n"
    )
    info = entries.read_release(text.encode(), "InRelease")
    assert (info.suite, info.codename, info.components) == (
        "stable-security",
        "trixie-security",
        ("main", "contrib"),
    )
    assert info.valid_until and info.valid_until.isoformat() == "2026-12-07T00:22:33+00:00"
    assert info.sha256["main/binary-amd64/Packages.xz"] == entries.FileRef(
        "main/binary-amd64/Packages.xz", 1, SHA
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Suite: x\n", "InRelease: SHA256: missing"),
        (f"Suite: x\nSHA256:\n {SHA} 1\n", "InRelease: SHA256\\[0\\]: expected a line 'sha256 size name'"),
        (f"Suite: x\nSHA256:\n {SHA} big main/x\n", "InRelease: SHA256\\[0\\].size: 'big' is not a size"),
        (f"Suite: x\nSHA256:\n {SHA} 1 main/x\n nothex 1 main/y\n", "SHA256\\[1\\].sha256: 'nothex'"),
        (
            f"Suite: x\nComponents: -main\nSHA256:\n {SHA} 1 a\n",
            "InRelease: Components: '-main' starts with",
        ),
        (f"Suite: x\nDate: yesterday\nSHA256:\n {SHA} 1 a\n", "InRelease: Date: 'yesterday' is not a date"),
    ],
)
def test_a_broken_release_names_the_field(text: str, message: str) -> None:
    with pytest.raises(OverlayError, match=message) as err:
        entries.read_release(text.encode(), "InRelease")
    assert err.value.code is ExitCode.FAILED


def test_packages_entries_are_checked_only_for_wanted_names() -> None:
    text = b"Package: a\nVersion: 1.0\nArchitecture: all\n\nPackage: b\n\nPackage: c\nVersion: 1:\n"
    assert list(entries.read_packages(text, "P", "amd64", {"a"})) == [entries.BinaryEntry("a", "1.0", "all")]
    with pytest.raises(OverlayError, match="P: entry 2 \\(b\\): Version: missing"):
        list(entries.read_packages(text, "P", "amd64", {"b"}))
    with pytest.raises(OverlayError, match="P: entry 3 \\(c\\): Version: '1:' is not a Debian version"):
        list(entries.read_packages(text, "P", "amd64", {"a", "c"}))
    assert list(entries.read_packages(b"Package: d\xff\nVersion: 2\n", "P", "amd64"))[0].version == "2"


def source(
    directory: str = "pool/main/j/jq", name: str = "jq_1.dsc", size: str = "1", sha: str = SHA
) -> bytes:
    text = f"Package: jq\nVersion: 1\nDirectory: {directory}\nChecksums-Sha256:\n {sha} {size} {name}\n"
    return text.encode()


def test_sources_entries() -> None:
    (record,) = entries.read_sources(source(), WHERE)
    assert record == entries.SourceRecord(
        "jq", "1", "pool/main/j/jq", (entries.FileRef("jq_1.dsc", 1, SHA),)
    )
    one_line = (
        b"Package: jq\nVersion: 1\nDirectory: pool/j\nChecksums-Sha256: " + f"{SHA} 1 jq.dsc\n".encode()
    )
    assert next(entries.read_sources(one_line, WHERE)).files[0].name == "jq.dsc"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"directory": "../../etc"}, "Directory: '../../etc' is not a relative path inside the archive"),
        ({"directory": "/etc"}, "Directory: '/etc' is not a relative path inside the archive"),
        ({"directory": "pool//x"}, "Directory: 'pool//x' is not a relative path"),
        ({"name": "../../etc/passwd"}, "Checksums-Sha256\\[0\\].name: '../../etc/passwd' is a path"),
        ({"name": "/etc/passwd"}, "Checksums-Sha256\\[0\\].name: '/etc/passwd' is a path"),
        ({"name": ".profile"}, "Checksums-Sha256\\[0\\].name: '.profile' starts with '.'"),
        ({"name": "-rf"}, "Checksums-Sha256\\[0\\].name: '-rf' starts with '-'"),
        ({"name": "a\x01b"}, "Checksums-Sha256\\[0\\].name: 'a\\\\x01b' contains a control character"),
        ({"size": "-1"}, "Checksums-Sha256\\[0\\].size: '-1' is not a size"),
        ({"sha": "abc"}, "Checksums-Sha256\\[0\\].sha256: 'abc' is not a sha256"),
    ],
)
def test_a_hostile_sources_entry_names_file_entry_and_field(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(OverlayError, match=message) as err:
        list(entries.read_sources(source(**kwargs), WHERE))
    assert str(err.value).startswith(f"{WHERE}: entry 1 (jq): ")
    assert err.value.code is ExitCode.FAILED and "\n" not in str(err.value)


def test_a_dsc_signed_or_not() -> None:
    text = kit.dsc("jq", "1.7.1-6", [("jq_1.7.1-6.tar.xz", b"jq")])
    info = entries.read_dsc(kit.archive_key().clearsign(text), "jq.dsc")  # python-debian strips the armor
    assert (info.source, info.version, [f.name for f in info.files]) == (
        "jq",
        "1.7.1-6",
        ["jq_1.7.1-6.tar.xz"],
    )
    with pytest.raises(OverlayError, match="jq.dsc: Checksums-Sha256: missing"):
        entries.read_dsc(b"Source: jq\nVersion: 1\n", "jq.dsc")
    with pytest.raises(OverlayError, match="jq.dsc: Source: missing"):
        entries.read_dsc(kit.dsc("jq", "1", [("a", b"")]).replace(b"Source: jq\n", b""), "jq.dsc")


class GuardedFetcher(kit.FakeFetcher):
    """A fake mirror that refuses (and records) any download to a place outside `root`."""

    root: Path = Path("/nonexistent")
    escapes: list[Path] = []

    def download(self, url: str, dest: Path, limit: int | None = None) -> str:
        if not dest.resolve().is_relative_to(self.root.resolve()):
            self.escapes.append(dest)
            raise AssertionError(f"download outside the output directory: {dest}")
        return super().download(url, dest)


def hostile_mirror(root: Path, member: str) -> GuardedFetcher:
    fetcher = GuardedFetcher()
    fetcher.root, fetcher.escapes = root, []
    kit.add_suite(
        fetcher.files,
        MIRROR,
        "trixie",
        sources={"jq_1.7.1-6": b"jq"},
        dsc_members={"jq_1.7.1-6": [(member, b"root::0:0::/root:/bin/sh\n")]},
    )
    kit.add_suite(fetcher.files, MIRROR, "trixie-updates")
    kit.add_suite(fetcher.files, SECURITY, "trixie-security")
    return fetcher


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")}


@pytest.mark.parametrize("member", ["../../etc/passwd", "/etc/passwd", "../escape", ".hidden", "-n"])
def test_a_dsc_naming_a_path_writes_nothing_outside_and_is_a_one_line_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    member: str,
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    out = tmp_path / "a" / "b" / "out"
    fetcher = hostile_mirror(out, member)
    monkeypatch.setattr(verb, "Fetcher", lambda **_: fetcher)
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": "jq", "version": "1.7.1-6"}]
    manifest = tmp_path / "m.build.json"
    manifest.write_text(json.dumps(doc))
    before = files_under(tmp_path)
    mtime = os.stat("/etc/passwd").st_mtime_ns
    code = cli.main(
        ["-q", "sources", str(manifest), "-o", str(out), "--keyring", str(kit.archive_key().keyring)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(
        "fai-overlay: error: trixie: http://deb.debian.org/debian/pool/main/j/jq/jq_1.7.1-6.dsc"
    )
    assert f"Checksums-Sha256[0].name: {member!r}" in err[0]
    assert fetcher.escapes == [] and os.stat("/etc/passwd").st_mtime_ns == mtime
    new = files_under(tmp_path) - before
    assert all(p.is_relative_to(out) or out.is_relative_to(p) for p in new), sorted(new)
    assert [p.name for p in new if p.is_file()] == ["jq_1.7.1-6.dsc"]  # the .dsc itself, inside


def test_a_dsc_for_another_package_is_refused(tmp_path: Path) -> None:
    fetcher = kit.FakeFetcher()
    kit.add_suite(fetcher.files, MIRROR, "trixie", sources={"jq_1.7.1-6": b"jq"})
    dsc_url = f"{MIRROR}/pool/main/j/jq/jq_1.7.1-6.dsc"
    fetcher.files[dsc_url] = fetcher.files[dsc_url].replace(b"Source: jq", b"Source: jo")
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": "jq", "version": "1.7.1-6"}]
    # the index's checksum no longer matches; put the .dsc where no index vouches for it (the pool probe)
    kit.add_suite(fetcher.files, MIRROR, "trixie")
    with pytest.raises(OverlayError, match="Source/Version: jo 1.7.1-6, expected jq 1.7.1-6"):
        sources.collect(kit.typed(doc), tmp_path, fetcher, trust=kit.archive_key().trust())


def test_a_version_in_no_signed_index_is_marked(tmp_path: Path) -> None:
    fetcher = kit.FakeFetcher()
    kit.add_suite(fetcher.files, MIRROR, "trixie")
    base = f"{MIRROR}/pool/main/j/jq"
    fetcher.files[f"{base}/jq_1.dsc"] = kit.dsc("jq", "1", [("jq_1.tar.xz", b"jq")])
    fetcher.files[f"{base}/jq_1.tar.xz"] = b"jq"
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": "jq", "version": "1"}]
    result = sources.collect(kit.typed(doc), tmp_path, fetcher, trust=kit.archive_key().trust())
    (package,) = result.to_json()["packages"]
    assert package["signed_index"] is False and package["verified"] is True
    assert result.to_json()["release_files"][0]["suite"] == "trixie"


@pytest.mark.parametrize(("name", "version"), [("../../x", "1"), ("jq", "1/../../../x"), ("-jq", "1")])
def test_source_names_from_the_manifest_must_give_plain_file_names(
    tmp_path: Path, name: str, version: str
) -> None:
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": name, "version": version}]
    # the manifest reader refuses them first (sources checks again, for manifests made in code)
    with pytest.raises(OverlayError, match=r"source_packages\[0\]\.(name|version): ") as err:
        sources.collect(kit.typed(doc), tmp_path, kit.FakeFetcher(), trust=kit.archive_key().trust())
    assert err.value.code is ExitCode.USAGE
    assert list(tmp_path.iterdir()) == []


def test_a_hostile_sources_directory_stops_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    fetcher = kit.FakeFetcher()
    hostile = source(directory="../../../tmp").decode()
    kit.add_suite(fetcher.files, MIRROR, "trixie", extra_sources=hostile)
    monkeypatch.setattr(verb, "Fetcher", lambda **_: fetcher)
    doc = kit.manifest_doc()
    doc["source_packages"] = [{"name": "jq", "version": "1"}]
    manifest = tmp_path / "m.build.json"
    manifest.write_text(json.dumps(doc))
    code = cli.main(
        [
            "-q",
            "sources",
            str(manifest),
            "-o",
            str(tmp_path / "o"),
            "--keyring",
            str(kit.archive_key().keyring),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0].startswith(
        f"fai-overlay: error: {MIRROR}/dists/trixie/main/source/Sources.xz: entry 1 (jq): "
    )
    assert "Directory: '../../../tmp' is not a relative path inside the archive" in err[0]
