"""Release files are believed only when gpgv says so: keys, tampering, Valid-Until, snapshots, proxy.

The fake mirror (tests/fixtures/publishkit.py) is signed with keys made in a
temporary GNUPGHOME by gpg; fai-overlay checks it with the real gpgv.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from overlay.core import commands
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.runner import Result
from overlay.publish import archive, trust, updates
from overlay.publish.fetch import Fetcher
from tests.fakes import FakeRunner
from tests.fixtures import publishkit as kit

BASE = "http://mirror.example/debian"
SNAPSHOT = "http://snapshot.debian.org/archive/debian/20200101T000000Z"
NOW = dt.datetime.now(dt.UTC)


def mirror(
    base: str = BASE,
    name: str = "trixie",
    *,
    key: kit.ArchiveKey | None = None,
    detached: bool = False,
    date: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> kit.FakeFetcher:
    fetcher = kit.FakeFetcher()
    packages = [("adduser", "3.153", "all")]
    kit.add_suite(
        fetcher.files,
        base,
        name,
        packages=packages,
        key=key,
        detached=detached,
        date=date,
        valid_until=valid_until,
    )
    return fetcher


def read(
    fetcher: kit.FakeFetcher, base: str = BASE, name: str = "trixie", max_age: int = 0
) -> archive.ReleaseFile:
    checker = kit.archive_key().trust(max_age=max_age)
    return archive.fetch_release(fetcher, archive.Suite(name, base), checker)


def refused(fetcher: kit.FakeFetcher, match: str, max_age: int = 0) -> OverlayError:
    with pytest.raises(OverlayError, match=match) as err:
        read(fetcher, max_age=max_age)
    assert err.value.code is ExitCode.FAILED
    assert str(err.value).startswith(f"trixie ({BASE}/dists/trixie): ")  # names the suite
    assert "\n" not in str(err.value)
    return err.value


def test_a_good_signature_is_accepted_and_named() -> None:
    release = read(mirror())
    key = kit.archive_key()
    assert release.signature.signer == key.uid and len(release.signature.fingerprint) == 40
    assert not release.signature.expired_key and release.stale is None
    assert release.info.components == ("main",)
    assert release.describe().startswith(f"trixie: InRelease signed by {key.uid} (")
    assert release.to_json()["fingerprint"] == release.signature.fingerprint


def test_a_signature_by_another_key_is_refused() -> None:
    err = refused(mirror(key=kit.archive_key("other")), "signed by key .*, which is not in the keyring")
    assert err.hint and "--keyring" in err.hint


def test_a_tampered_inrelease_is_refused() -> None:
    fetcher = mirror()
    url = f"{BASE}/dists/trixie/InRelease"
    fetcher.files[url] = fetcher.files[url].replace(b"Codename: trixie", b"Codename: trixiE", 1)
    refused(fetcher, "BAD signature from .* on InRelease: it was changed")


def test_a_tampered_index_is_refused() -> None:
    fetcher = mirror()
    url = f"{BASE}/dists/trixie/main/binary-amd64/Packages.xz"
    fetcher.files[url] = fetcher.files[url][:-1] + b"\0"
    release = read(fetcher)
    with pytest.raises(OverlayError, match="does not match the sha256 in its Release file"):
        archive.read_packages(fetcher, release, "amd64")


def test_only_the_signed_text_is_read() -> None:
    fetcher = mirror()
    url = f"{BASE}/dists/trixie/InRelease"
    fetcher.files[url] = (
        b"Components: evil\nSuite: trixie\n\n" + fetcher.files[url] + b"\nComponents: evil\n"
    )
    assert read(fetcher).info.components == ("main",)


def test_an_unsigned_inrelease_is_refused() -> None:
    fetcher = mirror()
    signed = fetcher.files[f"{BASE}/dists/trixie/InRelease"]
    body = signed.split(b"\n\n", 1)[1].split(b"-----BEGIN PGP SIGNATURE-----")[0]
    fetcher.files[f"{BASE}/dists/trixie/InRelease"] = body
    refused(fetcher, "InRelease is not signed")


def test_release_and_release_gpg_where_there_is_no_inrelease() -> None:
    fetcher = mirror(detached=True)
    assert f"{BASE}/dists/trixie/InRelease" not in fetcher.files
    release = read(fetcher)
    assert release.signature.file == "Release + Release.gpg"
    assert archive.read_packages(fetcher, release, "amd64") == {("adduser", "all"): "3.153"}
    fetcher.files[f"{BASE}/dists/trixie/Release"] += b"Components: evil\n"
    refused(fetcher, "BAD signature .* on Release \\+ Release.gpg")
    del fetcher.files[f"{BASE}/dists/trixie/Release.gpg"]
    with pytest.raises(
        OverlayError, match="neither InRelease nor Release.gpg: its Release file is unsigned"
    ):
        read(fetcher)


def test_an_expired_valid_until_is_refused_unless_max_age_allows_it() -> None:
    kwargs = {"date": NOW - dt.timedelta(days=9), "valid_until": NOW - dt.timedelta(days=2)}
    fetcher = mirror(**kwargs)  # type: ignore[arg-type]
    err = refused(fetcher, r"the Release file expired on .* \(Valid-Until\) \(hint")
    assert err.hint and "--apt-max-age 10" in err.hint
    refused(fetcher, r"expired on .* and is older than apt_max_age \(5 days\)", max_age=5)
    release = read(fetcher, max_age=10)  # Date + 10 days is tomorrow: apt's rule accepts it
    assert release.stale and "accepted: apt_max_age is 10 days" in release.stale
    assert release.stale in release.describe()
    assert read(mirror(valid_until=NOW + dt.timedelta(days=1))).stale is None


def test_valid_until_rule_is_apts() -> None:
    date, until = NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=2)
    assert trust.valid_until(date, until, 0) == until
    assert trust.valid_until(date, until, 3) == until  # Date + 3 is earlier: Valid-Until stands
    assert trust.valid_until(date, until, 10) == date + dt.timedelta(days=10)
    assert trust.valid_until(date, None, 10) is None


def test_an_expired_key_is_accepted_only_from_snapshot_debian_org() -> None:
    expired = kit.archive_key("expired")
    fetcher = mirror(key=expired)
    with pytest.raises(OverlayError, match="signed only by an expired key") as err:
        archive.fetch_release(fetcher, archive.Suite("trixie", BASE), expired.trust())
    assert err.value.hint and "snapshot.debian.org" in err.value.hint
    fetcher = mirror(SNAPSHOT, key=expired)
    release = archive.fetch_release(fetcher, archive.Suite("trixie", SNAPSHOT), expired.trust())
    assert release.signature.expired_key and release.signature.signer == expired.uid
    assert "a key that has expired since: accepted because snapshot.debian.org" in release.describe()
    # and check-updates says so in its output
    doc = kit.manifest_doc(packages=[kit.package("adduser", "3.152", "all")])
    report = updates.check(kit.typed(doc), fetcher, trust=expired.trust(), mirror=SNAPSHOT)
    assert "expired since: accepted because snapshot.debian.org" in updates.render(report).splitlines()[0]
    assert report.to_json()["release_files"][0]["expired_key"] is True


def test_a_release_file_of_another_suite_is_refused() -> None:
    fetcher = mirror(name="trixie")
    for path in ("InRelease", "main/binary-amd64/Packages.xz"):
        fetcher.files[f"{BASE}/dists/trixie-security/{path}"] = fetcher.files[f"{BASE}/dists/trixie/{path}"]
    with pytest.raises(OverlayError, match="is for suite 'trixie' .*not 'trixie-security'"):
        read(fetcher, name="trixie-security")


def test_keyrings_must_exist_and_be_binary(tmp_path: Path) -> None:
    missing = trust.Trust(FakeRunner(), keyrings=(tmp_path / "nope.gpg",))
    with pytest.raises(OverlayError, match="keyring not found") as err:
        archive.fetch_release(mirror(), archive.Suite("trixie", BASE), missing)
    assert err.value.code is ExitCode.USAGE
    default = trust.Trust(FakeRunner(), keyrings=(trust.DEBIAN_KEYRING,))
    if not trust.DEBIAN_KEYRING.is_file():
        with pytest.raises(OverlayError, match="apt-get install debian-archive-keyring"):
            default.check_keyrings()
    armored = tmp_path / "key.asc"
    armored.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n")
    with pytest.raises(OverlayError, match="ASCII-armored") as err:
        trust.Trust(FakeRunner(), keyrings=(armored,)).check_keyrings()
    assert err.value.hint and "gpg --dearmor" in err.value.hint


def test_the_debian_keyring_verifies_a_real_debian_release_file() -> None:
    # a real InRelease would need the network; the keyring must at least be there (setup.sh installs it)
    assert trust.DEBIAN_KEYRING.is_file(), "apt-get install debian-archive-keyring (setup.sh does)"


def status(*lines: str) -> str:
    return "".join(f"[GNUPG:] {line}\n" for line in lines)


FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (status("NEWSIG", "GOODSIG K1 Good", f"VALIDSIG {FPR} x", "NEWSIG", "BADSIG K2 Bad"), "BAD sig"),
        (status("NEWSIG", "REVKEYSIG K1 Revoked", f"VALIDSIG {FPR} x"), "signed by a revoked key"),
        (status("NEWSIG", "EXPSIG K1 Old", f"VALIDSIG {FPR} x"), "no valid signature \\(EXPSIG\\)"),
        (status("NEWSIG", "ERRSIG K1 22 8 01 1 9 X", "NO_PUBKEY K1"), "signed by key K1, which is not"),
        (
            status("NEWSIG", "ERRSIG K2 1 8 01 1 9 X", "NO_PUBKEY K2", "NEWSIG", "ERRSIG K1 1 8 01 1 9 Y"),
            "signed by keys K1, K2, none in the keyring \\(/k.gpg\\)",
        ),
        (status("NEWSIG", "GOODSIG K1 No validsig"), "no valid signature \\(GOODSIG\\)"),
        (status("NODATA 1"), "is not signed"),
    ],
)
def test_gpgv_status_decides(text: str, match: str) -> None:
    with pytest.raises(OverlayError, match=match):
        trust.decide(trust.parse_status(text), "trixie", "InRelease", [Path("/k.gpg")], snapshot=True)


def test_one_good_signature_among_unknown_keys_is_enough() -> None:
    text = status(
        "NEWSIG", "ERRSIG K1 1 8 01 1 9 X", "NO_PUBKEY K1", "NEWSIG", "GOODSIG K2 Debian", f"VALIDSIG {FPR}"
    )
    sig = trust.decide(trust.parse_status(text), "trixie", "InRelease", [], snapshot=False)
    assert (sig.fingerprint, sig.signer, sig.expired_key) == (FPR, "Debian", False)


def test_gpgv_argv_and_it_runs_through_the_runner(tmp_path: Path) -> None:
    keyrings = [Path("/a.gpg"), Path("/b.gpg")]
    assert commands.gpgv(keyrings, Path("/x/InRelease"), homedir=Path("/h"), output=Path("/o")) == [
        "gpgv", "--homedir", "/h", "--status-fd", "1", "--keyring", "/a.gpg", "--keyring", "/b.gpg",
        "--output", "/o", "/x/InRelease",
    ]  # fmt: skip
    assert commands.gpgv([Path("/a.gpg")], Path("/R.gpg"), Path("/R"), homedir=Path("/h"))[-2:] == [
        "/R.gpg",
        "/R",
    ]

    def fake_gpgv(argv: list[str]) -> Result:
        Path(argv[argv.index("--output") + 1]).write_bytes(b"Suite: trixie\n")
        return Result(tuple(argv), 0, status("NEWSIG", "GOODSIG K1 Fake", f"VALIDSIG {FPR} x"))

    keyring = tmp_path / "k.gpg"
    keyring.write_bytes(b"\x99")
    runner = FakeRunner(tools={"gpgv": fake_gpgv})
    payload, sig = trust.verify(trust.Trust(runner, keyrings=(keyring,)), "trixie", b"signed")
    assert payload == b"Suite: trixie\n" and sig.signer == "Fake"
    assert runner.argv0s() == ["gpgv"] and ("--keyring", str(keyring)) == runner.calls[0][5:7]
    runner.tools["gpgv"] = lambda argv: Result(tuple(argv), 0, status("GOODSIG K1 Fake", f"VALIDSIG {FPR}"))
    with pytest.raises(OverlayError, match="gpgv wrote no signed text for InRelease"):
        trust.verify(trust.Trust(runner, keyrings=(keyring,)), "trixie", b"signed")
    runner.tools["gpgv"] = lambda argv: Result(tuple(argv), 2, "", "gpgv: keydb: broken keyring\n")
    with pytest.raises(OverlayError, match="gpgv could not check InRelease: gpgv: keydb: broken keyring"):
        trust.verify(trust.Trust(runner, keyrings=(keyring,)), "trixie", b"signed")


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP proxy that answers every GET itself and records the URL it was asked for."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)
            body = b"through the proxy"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:secret@127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_fetcher_uses_the_proxy(proxy: tuple[str, list[str]]) -> None:
    url, seen = proxy
    assert (
        Fetcher(proxy=url).get("http://mirror.invalid/debian/dists/trixie/InRelease") == b"through the proxy"
    )
    assert seen == ["http://mirror.invalid/debian/dists/trixie/InRelease"]


def test_check_updates_and_sources_use_the_manifest_proxy_and_max_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    fetcher = kit.FakeFetcher()
    kit.add_suite(
        fetcher.files,
        archive.DEFAULT_MIRROR,
        "trixie",
        packages=[("adduser", "3.152", "all")],
        date=NOW - dt.timedelta(days=20),
        valid_until=NOW - dt.timedelta(days=13),
    )
    proxies: list[str | None] = []

    def make(proxy: str | None = None) -> kit.FakeFetcher:
        proxies.append(proxy)
        return fetcher

    monkeypatch.setattr(verb, "Fetcher", make)
    doc = kit.manifest_doc(packages=[kit.package("adduser", "3.152", "all")])
    doc["image"] |= {"apt_proxy": "http://proxy.example:3142", "apt_max_age": 30}
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(doc))
    keyring = ["--keyring", str(kit.archive_key().keyring)]
    assert cli.main(["-q", "check-updates", str(path), *keyring]) == 0
    out = capsys.readouterr().out
    assert "verified trixie: InRelease signed by" in out and "accepted: apt_max_age is 30 days" in out
    assert proxies == ["http://proxy.example:3142"]
    # --apt-max-age overrides the manifest: 0 keeps the Valid-Until check
    assert cli.main(["-q", "check-updates", str(path), *keyring, "--apt-max-age", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fai-overlay: error: trixie (http://deb.debian.org/debian/")
    assert "expired on" in err[0]
    out_dir = tmp_path / "src"
    assert cli.main(["-q", "sources", str(path), "-o", str(out_dir), *keyring, "--apt-max-age", "1"]) == 1
    assert "the Release file expired on" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check-updates", str(path), "--apt-max-age", "-1"])
    assert exit_.value.code == 2 and "expected 0 or more days" in capsys.readouterr().err


def test_a_bad_signature_is_a_one_line_error_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from overlay.cli import main as cli
    from overlay.cli import publish as verb

    fetcher = kit.FakeFetcher()
    kit.add_suite(fetcher.files, archive.DEFAULT_MIRROR, "trixie", key=kit.archive_key("other"))
    monkeypatch.setattr(verb, "Fetcher", lambda **_: fetcher)
    path = tmp_path / "m.build.json"
    path.write_text(json.dumps(kit.manifest_doc()))
    for verb_args in (["check-updates"], ["sources", "-o", str(tmp_path / "src")]):
        code = cli.main(
            [verb_args[0], str(path), *verb_args[1:], "--keyring", str(kit.archive_key().keyring)]
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1, err
        assert err[-1].startswith("fai-overlay: error: trixie (http://deb.debian.org/debian/dists/trixie): ")
        assert "which is not in the keyring" in err[-1]
