"""sshd's effective configuration as sshd reads it: Include in place, first value wins, Match blocks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from overlay.verify import sshd


def config(make_tree: Callable[..., Path], files: dict[str, str]) -> sshd.Config:
    return sshd.read(make_tree("image", {f"etc/ssh/{k}": v for k, v in files.items()}))


def test_first_value_wins_across_includes_in_glob_order(make_tree) -> None:  # type: ignore[no-untyped-def]
    c = config(
        make_tree,
        {
            "sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n",
            "sshd_config.d/50-cloud.conf": "PasswordAuthentication no\nPermitRootLogin prohibit-password\n",
            "sshd_config.d/10-early.conf": "permitrootlogin=yes\n",
            "sshd_config.d/99-late.conf": "PasswordAuthentication yes\n",
            "sshd_config.d/README": "PasswordAuthentication yes\n",  # not *.conf
        },
    )
    assert c.value("PasswordAuthentication") == "no"
    first = c.first("PermitRootLogin")
    assert first is not None and first.value == "yes"
    assert first.where() == "/etc/ssh/sshd_config.d/10-early.conf:1"
    assert c.files == [
        "/etc/ssh/sshd_config",
        "/etc/ssh/sshd_config.d/10-early.conf",
        "/etc/ssh/sshd_config.d/50-cloud.conf",
        "/etc/ssh/sshd_config.d/99-late.conf",
    ]


def test_a_value_before_the_include_wins_over_the_drop_ins(make_tree) -> None:  # type: ignore[no-untyped-def]
    c = config(
        make_tree,
        {
            "sshd_config": "PermitRootLogin yes\nInclude sshd_config.d/*.conf\n",  # relative: under /etc/ssh
            "sshd_config.d/50-cloud.conf": "PermitRootLogin no\n",
        },
    )
    assert c.value("PermitRootLogin") == "yes"
    assert "/etc/ssh/sshd_config.d/50-cloud.conf" in c.files


def test_defaults_apply_when_nothing_sets_a_keyword(make_tree) -> None:  # type: ignore[no-untyped-def]
    c = config(make_tree, {"sshd_config": "# PasswordAuthentication no\nUsePAM yes\n"})
    assert c.value("PasswordAuthentication") == "yes"  # sshd's compiled-in default
    assert c.value("PermitRootLogin") == "prohibit-password"
    assert c.first("PasswordAuthentication") is None


def test_match_blocks_are_conditional_and_end_with_their_file(make_tree) -> None:  # type: ignore[no-untyped-def]
    c = config(
        make_tree,
        {
            "sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n"
            "Match User backup\n  PasswordAuthentication yes\n  PasswordAuthentication no\n"
            "Match all\nPermitRootLogin no\n",
            "sshd_config.d/10-site.conf": "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n",
        },
    )
    # the drop-in's Match block ends with its file: the main file's line is global again
    assert c.value("PasswordAuthentication") == "no"
    assert c.value("PermitRootLogin") == "no"  # after 'Match all': global
    conditional = c.conditional("PasswordAuthentication")
    assert [(s.value, s.match) for s in conditional] == [("yes", "User backup")]  # first of its block
    assert [s.where() for s in c.conditional("PermitRootLogin")] == [
        "/etc/ssh/sshd_config.d/10-site.conf:2 (in 'Match Address 10.0.0.0/8')"
    ]


def test_aliases_case_and_separators(make_tree) -> None:  # type: ignore[no-untyped-def]
    c = config(
        make_tree,
        {"sshd_config": "CHALLENGERESPONSEAUTHENTICATION = no\nKbdInteractiveAuthentication yes\n"},
    )
    assert c.value("KbdInteractiveAuthentication") == "no"
    assert sshd.split('Subsystem\tsftp  "/usr/lib/openssh/sftp server"') == (
        "Subsystem",
        ["sftp", "/usr/lib/openssh/sftp server"],
    )
    assert sshd.split("PermitRootLogin=yes") == ("PermitRootLogin", ["yes"])


def test_an_absolute_symlink_in_the_image_does_not_reach_the_host(make_tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_tree(
        "image", {"etc/ssh/sshd_config": "Include /etc/ssh/conf.d/*.conf\n", "srv/d/a.conf": "X 1\n"}
    )
    (root / "etc/ssh/conf.d").symlink_to("/srv/d")  # inside the image, /srv/d, not the host's
    c = sshd.read(root)
    assert c.files == ["/etc/ssh/sshd_config", "/srv/d/a.conf"] and c.value("X") == "1"
