"""The extra-packages blend: the tools are installed, and they run."""

from __future__ import annotations

import pytest

TOOLS = [
    "locales-all",
    "vim",
    "screen",
    "tmux",
    "curl",
    "less",
    "bash-completion",
    "man-db",
    "htop",
    "git",
    "rsync",
    "jq",
    "lsof",
    "strace",
]


@pytest.mark.offline
@pytest.mark.parametrize("package", TOOLS)
def test_installed(fo, package: str) -> None:  # type: ignore[no-untyped-def]
    assert package in fo.packages(), f"{package} is missing from the extra-packages image"


@pytest.mark.live
@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("vim --version", "VIM - Vi IMproved"),
        ("curl --version", "curl "),
        ("tmux -V", "tmux "),
        ("screen --version", "Screen version"),
        ("htop --version", "htop "),
        ("git --version", "git version"),
        ("jq --version", "jq-"),
        ("less --version", "less "),
        ("man -w ls", "/usr/share/man/man1/ls.1"),
    ],
)
def test_tool_runs(host, command: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    result = host.run(command)
    assert result.rc == 0, f"{command} failed: {result.stderr}"
    assert expect in result.stdout + result.stderr


@pytest.mark.live
def test_locales_available(host) -> None:  # type: ignore[no-untyped-def]
    locales = host.check_output("locale -a").split()
    for wanted in ("de_DE.utf8", "fr_FR.utf8", "ja_JP.utf8", "C.utf8"):
        assert wanted in locales, f"locale -a does not list {wanted}"


@pytest.mark.live
def test_bash_completion_loads(user_host) -> None:  # type: ignore[no-untyped-def]
    # A login shell reads /etc/profile.d/bash_completion.sh; completions then load on
    # demand through the default (-D) completion loader.
    loader = user_host.run("bash -lic 'complete -p -D' 2>/dev/null")
    assert loader.rc == 0 and "-D" in loader.stdout, f"no bash-completion loader: {loader.stdout!r}"
