"""Live checks over the serial console (images without cloud-init), against a scripted console."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from overlay.verify import console
from overlay.vm.console import BootFailed


@dataclass
class ScriptedConsole:
    """Plays what the guest prints, in order; records what was typed."""

    script: list[str]
    sent: list[str] = field(default_factory=list)

    def expect(self, phase: str, patterns: list[str], timeout: float) -> tuple[int, str, str]:
        while self.script:
            text = self.script.pop(0)
            found = [(m.start(), i, m) for i, p in enumerate(patterns) if (m := re.search(p, text))]
            if found:
                _, i, m = min(found, key=lambda f: (f[0], f[1]))
                if text[m.end() :]:  # like pexpect, the rest stays in the buffer
                    self.script.insert(0, text[m.end() :])
                return i, text[: m.start()], m.group(0)
        raise BootFailed(f"timed out waiting for {phase}")

    def send(self, text: str) -> None:
        self.sent.append(text)


FIRST_BOOT = [
    "[ 74.5] audit: ...\x1b[!p\x1b[?7h\x1b[6n",
    "Welcome to your new installation of Debian GNU/Linux 13 (trixie)!\n-- Press any key to proceed --",
    "Please enter the new root password (empty to skip): (press TAB for no echo)",
    "Please enter the new root password again: ",
    "\x1b[6n\nDebian GNU/Linux 13 localhost ttyS0\n\nlocalhost login: ",
    "Password: ",
    "root@localhost:~# ",
    "FO-CONSOLE-BEGIN\r\n",
    "FO-CONSOLE-RC=0",
]


def test_the_first_boot_is_answered_like_a_terminal_and_root_logs_in() -> None:
    fake = ScriptedConsole(list(FIRST_BOOT))
    session, cases = console.first_boot_and_login(fake, 60)  # type: ignore[arg-type]
    password = fake.sent[2].removesuffix("\r")
    assert fake.sent[:6] == [
        console.CURSOR_REPORT,
        "\r",
        f"{password}\r",
        f"{password}\r",
        console.CURSOR_REPORT,
        "root\r",
    ]
    assert fake.sent[6] == f"{password}\r" and len(password) >= 12
    assert [c.name for c in cases] == [
        "console: the first boot asked for the root password",
        "console: root logs in with that password",
    ]


def test_a_first_boot_that_never_asks_is_a_failure() -> None:
    fake = ScriptedConsole(["Debian GNU/Linux 13 localhost ttyS0\nlocalhost login: "])
    with pytest.raises(BootFailed, match="did not ask for a root password"):
        console.first_boot_and_login(fake, 60)  # type: ignore[arg-type]


def session(*outputs: tuple[int, str]) -> console.Session:
    script = []
    for rc, out in outputs:
        script += ["FO-CONSOLE-BEGIN\r\n", f"{out}\r\nFO-CONSOLE-RC={rc}"]
    return console.Session(ScriptedConsole(script), 10)  # type: ignore[arg-type]


GOOD = [
    (0, "running"),
    (0, ""),
    (0, "5368709120"),
    (3, "inactive\nactive\ninactive"),
    (0, "151.101.2.132 deb.debian.org"),
]


def test_the_console_checks_pass_on_a_healthy_system() -> None:
    cases = console.checks(session(*GOOD), 5 << 30)
    assert [c.status for c in cases] == ["passed"] * 5


@pytest.mark.parametrize(
    ("index", "output", "message"),
    [
        (0, (1, "degraded"), "systemd says ['degraded']"),
        (1, (0, "foo.service loaded failed failed Foo"), "systemd units failed: foo.service"),
        (2, (0, "2147483648"), "/ is 2048 MiB on a 5120 MiB disk: growroot/growfs did not run"),
        (3, (3, "inactive\ninactive\ninactive"), "no time synchronisation service is active"),
        (4, (2, "Temporary failure resolving 'deb.debian.org'"), "DNS or apt-get update failed"),
    ],
)
def test_each_console_check_can_fail(index: int, output: tuple[int, str], message: str) -> None:
    outputs = list(GOOD)
    outputs[index] = output
    cases = console.checks(session(*outputs), 5 << 30)
    failed = [c for c in cases if c.status != "passed"]
    assert len(failed) == 1 and failed[0] is cases[index] and message in failed[0].message
