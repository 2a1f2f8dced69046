"""Whether an (In)Release file is believed: its OpenPGP signature (gpgv) and its Valid-Until.

gpgv runs through the Runner against the Debian archive keyring (or the
keyrings given with --keyring). Its --status-fd lines decide, as apt's do:

- a BADSIG or REVKEYSIG is an error, whatever else is there;
- a GOODSIG with its VALIDSIG from a key in the keyring is accepted;
- an EXPKEYSIG (the key has expired since it signed) is accepted only from
  snapshot.debian.org, whose old files were signed by keys that have expired
  since, and the output says so;
- anything else (NO_PUBKEY, ERRSIG, no signature at all) is an error.

Only the signed text, as gpgv writes it with --output, is parsed afterwards,
so nothing outside the signature can slip in. A Release file counts as valid
until its Valid-Until, or until its Date plus `max_age` days if that is later:
the rule apt applied during the build (apt_max_age, Acquire::Min-ValidTime).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from overlay.core import commands
from overlay.core.errors import ExitCode, OverlayError
from overlay.core.runner import Runner

DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SNAPSHOT_HOST = "snapshot.debian.org"
STATUS = "[GNUPG:] "


def is_snapshot(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == SNAPSHOT_HOST


@dataclass(frozen=True)
class Trust:
    """How Release files are checked: the keyrings, gpgv's runner, and the Valid-Until grace."""

    runner: Runner
    keyrings: tuple[Path, ...] = (DEBIAN_KEYRING,)
    max_age: int = 0  # days after a Release file's Date it stays valid, whatever its Valid-Until
    now: dt.datetime | None = None  # tests pin the clock

    def check_keyrings(self) -> tuple[Path, ...]:
        """The keyrings as absolute paths (gpgv looks up bare names in its home), each usable."""
        out = []
        for keyring in self.keyrings:
            hint = "apt-get install debian-archive-keyring, or pass --keyring PATH"
            if keyring != DEBIAN_KEYRING:
                hint = "pass the path of an OpenPGP keyring file with --keyring"
            if not keyring.is_file():
                raise OverlayError("keyring not found", path=keyring, hint=hint)
            with keyring.open("rb") as f:
                head = f.read(64)
            if head.lstrip().startswith(b"-----BEGIN PGP"):
                raise OverlayError(
                    "the keyring is ASCII-armored; gpgv reads binary keyrings",
                    path=keyring,
                    hint=f"gpg --dearmor < {keyring} > {keyring.with_suffix('.gpg').name}",
                )
            out.append(keyring.resolve())
        return tuple(out)


@dataclass(frozen=True)
class Signature:
    """The signature a Release file was accepted with."""

    file: str  # "InRelease" or "Release + Release.gpg"
    fingerprint: str
    signer: str
    expired_key: bool = False  # accepted only because the file came from snapshot.debian.org

    def describe(self) -> str:
        text = f"{self.file} signed by {self.signer} ({self.fingerprint})"
        if self.expired_key:
            text += f", a key that has expired since: accepted because {SNAPSHOT_HOST} keeps old files"
        return text


@dataclass
class _Sig:
    status: str = ""  # GOODSIG, EXPKEYSIG, BADSIG, REVKEYSIG, EXPSIG, ERRSIG
    keyid: str = ""
    signer: str = ""
    fingerprint: str = ""  # from VALIDSIG: the signature checked out with this key
    no_pubkey: bool = False


@dataclass
class Verdict:
    sigs: list[_Sig] = field(default_factory=list)
    nodata: bool = False


def parse_status(text: str) -> Verdict:
    """gpgv's --status-fd lines, one _Sig per NEWSIG."""
    verdict = Verdict()
    for line in text.splitlines():
        if not line.startswith(STATUS):
            continue
        keyword, _, rest = line[len(STATUS) :].partition(" ")
        args = rest.split(" ", 1)
        if keyword == "NEWSIG" or not verdict.sigs:
            verdict.sigs.append(_Sig())
        sig = verdict.sigs[-1]
        if keyword in ("GOODSIG", "EXPKEYSIG", "BADSIG", "REVKEYSIG", "EXPSIG", "ERRSIG"):
            if sig.status not in ("BADSIG", "REVKEYSIG"):  # the worst word about a signature stays
                sig.status = keyword
            sig.keyid = args[0]
            sig.signer = args[1] if len(args) > 1 and keyword != "ERRSIG" else sig.signer
        elif keyword == "VALIDSIG":
            sig.fingerprint = args[0]
        elif keyword == "NO_PUBKEY":
            sig.no_pubkey = True
        elif keyword == "NODATA":
            verdict.nodata = True
    return verdict


def _refuse(where: str, reason: str, hint: str) -> OverlayError:
    return OverlayError(f"{where}: {reason}", hint=hint, code=ExitCode.FAILED)


def decide(verdict: Verdict, where: str, file: str, keyrings: Sequence[Path], snapshot: bool) -> Signature:
    """The accepted signature, or the error naming why the file is not believed."""
    tampered = "someone changed the file on the way, or the mirror is broken; do not use it"
    names = ", ".join(str(k) for k in keyrings)
    for sig in verdict.sigs:
        if sig.status == "BADSIG":
            raise _refuse(where, f"BAD signature from {sig.signer} on {file}: it was changed", tampered)
        if sig.status == "REVKEYSIG":
            raise _refuse(where, f"{file} is signed by a revoked key ({sig.signer})", tampered)
    good = [s for s in verdict.sigs if s.status == "GOODSIG" and s.fingerprint]
    if good:
        return Signature(file, good[0].fingerprint, good[0].signer)
    expired = [s for s in verdict.sigs if s.status == "EXPKEYSIG" and s.fingerprint]
    if expired and snapshot:
        return Signature(file, expired[0].fingerprint, expired[0].signer, expired_key=True)
    if expired:
        raise _refuse(
            where,
            f"{file} is signed only by an expired key ({expired[0].signer})",
            f"a signature by an expired key is accepted only from {SNAPSHOT_HOST}",
        )
    unknown = sorted({s.keyid for s in verdict.sigs if s.no_pubkey or s.status == "ERRSIG"})
    if unknown:
        keys = f"key {unknown[0]}, which is not" if len(unknown) == 1 else f"keys {', '.join(unknown)}, none"
        raise _refuse(
            where,
            f"{file} is signed by {keys} in the keyring ({names})",
            "for another archive pass its keyring with --keyring PATH",
        )
    if verdict.sigs and not verdict.nodata:
        states = ", ".join(s.status or "unknown" for s in verdict.sigs)
        raise _refuse(where, f"{file}: no valid signature ({states})", tampered)
    raise _refuse(where, f"{file} is not signed", tampered)


def verify(
    trust: Trust, where: str, signed: bytes, detached: bytes | None = None, *, snapshot: bool = False
) -> tuple[bytes, Signature]:
    """(the signed text, its signature) of an InRelease, or of a Release with `detached` Release.gpg."""
    keyrings = trust.check_keyrings()
    file = "InRelease" if detached is None else "Release + Release.gpg"
    with tempfile.TemporaryDirectory(prefix="fai-overlay-gpgv-") as tmp:
        home = Path(tmp)
        data = home / ("InRelease" if detached is None else "Release")
        data.write_bytes(signed)
        output = home / "payload"
        if detached is None:
            argv = commands.gpgv(keyrings, data, output=output, homedir=home)
        else:
            sig = home / "Release.gpg"
            sig.write_bytes(detached)
            argv = commands.gpgv(keyrings, sig, data, homedir=home)
        result = trust.runner.run(argv, check=False)
        verdict = parse_status(result.stdout)
        if not verdict.sigs and not verdict.nodata:
            lines = result.stderr.strip().splitlines()
            raise _refuse(
                where,
                f"gpgv could not check {file}: {lines[-1] if lines else f'exit {result.returncode}'}",
                "check the keyring (--keyring PATH)",
            )
        signature = decide(verdict, where, file, keyrings, snapshot)
        if detached is None and not output.is_file():
            raise _refuse(where, f"gpgv wrote no signed text for {file}", "run with --debug to see gpgv")
        payload = output.read_bytes() if detached is None else signed
    return payload, signature


def valid_until(date: dt.datetime | None, until: dt.datetime | None, max_age: int) -> dt.datetime | None:
    """When a Release file stops being valid: Valid-Until, or Date + max_age days if later (apt's rule)."""
    if until is None:
        return None
    if max_age > 0 and date is not None:
        return max(until, date + dt.timedelta(days=max_age))
    return until


def check_fresh(trust: Trust, where: str, date: dt.datetime | None, until: dt.datetime | None) -> str | None:
    """None if the file is within its Valid-Until; a note if only max_age keeps it valid; else an error."""
    now = trust.now or dt.datetime.now(dt.UTC)
    if until is None or now <= until:
        return None
    limit = valid_until(date, until, trust.max_age)
    expired = until.strftime("%Y-%m-%d %H:%M UTC")
    if limit is not None and now <= limit:
        return f"expired on {expired} (Valid-Until), accepted: apt_max_age is {trust.max_age} days"
    if date is None:
        hint = "the Release file has no Date, so apt_max_age cannot extend it; check --mirror"
    else:
        hint = (
            "the mirror is stale or someone replays an old file; to accept a lagging mirror, pass "
            f"--apt-max-age {(now - date).days + 1} (or set apt_max_age in the image definition)"
        )
    raise _refuse(
        where,
        f"the Release file expired on {expired} (Valid-Until)"
        + (f" and is older than apt_max_age ({trust.max_age} days)" if trust.max_age else ""),
        hint,
    )
