"""Live checks over the serial console, for images without cloud-init (the nocloud vendor).

Such an image has no ssh key to log in with: root has no password until
systemd-firstboot asks for one on the first boot. So the boot answers
firstboot's prompts on the console (a fresh random root password, nothing
else), logs in as root there, and runs the checks that make sense without
cloud-init: the system is running, no unit failed, the root filesystem grew
to the disk, time sync is active, DNS and apt work.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from overlay.core import junit
from overlay.vm.console import BootFailed, Console

# What a first boot shows on the serial console (systemd 257, trixie): firstboot and agetty ask the
# terminal where its cursor is (ESC [6n) and wait for the answer a terminal would give; firstboot
# then waits for a key, asks for the root password (twice) and, if they are not preset, for the
# locale, keymap, timezone and hostname (skipped: the image's own stay).
CURSOR_QUERY = r"\x1b\[6n"
CURSOR_REPORT = "\x1b[24;80R"
PRESS_ANY_KEY = r"(?i)press any key"
PASSWORD_PROMPT = r"(?i)new root password"
OTHER_PROMPT = r"(?i)please enter (?:the )?(?:new )?(?:system )?(?:locale|keymap|timezone|hostname)[^\n]*"
LOGIN_PROMPT = r"login: ?$"
SHELL_PROMPT = r"(?:#|\$) ?$"
MARK = "FO-CONSOLE"


@dataclass(frozen=True)
class Session:
    console: Console
    timeout: float

    def run(self, command: str, timeout: float | None = None) -> tuple[int, str]:
        """Run a shell command as root on the console: its exit code and output."""
        # The quotes split the markers in the echoed command line, so only the output matches.
        self.console.send(f"echo {MARK}''-BEGIN; {command}; echo {MARK}''-RC=$?\r")
        phase = f"running {command!r}"
        self.console.expect(phase, [f"{MARK}-BEGIN\\r?\\n"], timeout or self.timeout)
        _, text, marker = self.console.expect(phase, [f"{MARK}-RC=\\d+"], timeout or self.timeout)
        return int(marker.rsplit("=", 1)[1]), text.replace("\r", "").strip()


def first_boot_and_login(console: Console, timeout: float) -> tuple[Session, list[junit.Case]]:
    """Answer firstboot's prompts until the login prompt, then log in as root with the password set."""
    password = secrets.token_urlsafe(12)
    cases: list[junit.Case] = []
    t0, asked = time.monotonic(), False
    wanted = [CURSOR_QUERY, PRESS_ANY_KEY, PASSWORD_PROMPT, OTHER_PROMPT, LOGIN_PROMPT]
    while True:
        index, _, _ = console.expect("userspace to login", wanted, timeout)
        if index == 0:
            console.send(CURSOR_REPORT)
        elif index == 1:
            console.send("\r")
        elif index == 2:
            asked = True
            console.send(password + "\r")
        elif index == 3:
            console.send("\r")  # keep the image's locale, keymap, timezone, hostname
        else:
            break
    if not asked:
        raise BootFailed("the first boot did not ask for a root password (systemd-firstboot)")
    cases.append(
        junit.Case("console: the first boot asked for the root password", seconds=time.monotonic() - t0)
    )
    t0 = time.monotonic()
    console.send("root\r")
    console.expect("login as root", [r"(?i)password: ?$"], 60)
    console.send(password + "\r")
    console.expect("login as root", [SHELL_PROMPT], 120)
    session = Session(console, timeout)
    session.run("export SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb")
    cases.append(junit.Case("console: root logs in with that password", seconds=time.monotonic() - t0))
    return session, cases


def _check(name: str, session: Session, command: str, ok: Callable[[int, str], str | None]) -> junit.Case:
    t0 = time.monotonic()
    try:
        rc, out = session.run(command)
    except BootFailed as exc:
        return junit.Case(f"console: {name}", "error", exc.message, time.monotonic() - t0)
    problem = ok(rc, out)
    return junit.Case(
        f"console: {name}", "failed" if problem else "passed", problem or "", time.monotonic() - t0
    )


def checks(session: Session, disk_bytes: int) -> list[junit.Case]:
    """The live checks that need no cloud-init, each a junit case with a message a user understands."""

    def grew(rc: int, out: str) -> str | None:
        size = int(out.split()[-1]) if rc == 0 and out.split() and out.split()[-1].isdigit() else 0
        if size > 0.85 * disk_bytes:
            return None
        return f"/ is {size >> 20} MiB on a {disk_bytes >> 20} MiB disk: growroot/growfs did not run"

    return [
        _check(
            "the system is running",
            session,
            "systemctl is-system-running --wait",
            lambda rc, out: None if out.endswith("running") else f"systemd says {out.splitlines()[-1:]}",
        ),
        _check(
            "no failed systemd units",
            session,
            "systemctl --failed --no-legend --plain --no-pager",
            lambda rc, out: None if rc == 0 and not out else f"systemd units failed: {out[:500]}",
        ),
        _check("the root filesystem grew to the disk", session, "findmnt -bno SIZE /", grew),
        _check(
            "time sync is active",
            session,
            "systemctl is-active systemd-timesyncd chrony ntpsec",
            lambda rc, out: None if "active" in out.split() else "no time synchronisation service is active",
        ),
        _check(
            "DNS and apt-get update work",
            session,
            "getent hosts deb.debian.org && apt-get update -q -o Acquire::Check-Valid-Until=false",
            lambda rc, out: None if rc == 0 else f"DNS or apt-get update failed: {out[-500:]}",
        ),
    ]
