"""sshd's effective configuration: sshd_config and its Include'd drop-ins, first value wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.verify import sshd
from overlay.verify.target import expectations

pytestmark = pytest.mark.offline

WHY = {
    "PermitRootLogin": "root may log in over ssh with a password",
    "PasswordAuthentication": "sshd accepts passwords, so accounts can be guessed at from the network",
    "KbdInteractiveAuthentication": "sshd asks for passwords through keyboard-interactive (PAM)",
}


@pytest.mark.parametrize("keyword", sorted(expectations()["sshd"]["forbidden"]))
def test_sshd_setting_is_safe(image_root: Path, fo, keyword: str) -> None:  # type: ignore[no-untyped-def]
    rules = fo.expect["sshd"]
    if fo.vendor not in rules["vendors"]:
        pytest.skip(f"{fo.vendor} images are not checked for sshd's settings")
    if not (image_root / sshd.CONFIG.lstrip("/")).is_file():
        pytest.skip("no sshd in this image")
    allowed = {
        a.split(None, 1)[1].lower()
        for a in fo.allowed("sshd")
        if a.lower().startswith(keyword.lower() + " ")
    }
    forbidden = {v.lower() for v in rules["forbidden"][keyword]} - allowed
    config = sshd.read(image_root)
    first = config.first(keyword)
    value = config.value(keyword) or ""
    bad = []
    if value.lower() in forbidden:
        bad.append(f"{keyword} {value} ({first.where() if first else 'sshd default'})")
    bad += [
        f"{s.keyword} {s.value} ({s.where()})"
        for s in config.conditional(keyword)
        if s.value.lower() in forbidden
    ]
    assert not bad, (
        f"{WHY.get(keyword, 'unsafe sshd setting')}: {'; '.join(bad)} "
        f"(read from {', '.join(config.files)}; the first value wins); "
        f"allow it with allow: {{sshd: ['{keyword} {value}']}}"
    )
