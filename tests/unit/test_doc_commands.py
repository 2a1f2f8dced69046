"""Every `fai-overlay …` command line in README.md and docs/ parses with the real argument parser."""

from __future__ import annotations

import pytest

from overlay.cli.main import build_parser
from tests.doccommands import commands

COMMANDS = commands()


def test_the_docs_show_commands() -> None:
    verbs = {c.argv[1] for c in COMMANDS}
    assert {
        "plan",
        "compose",
        "build",
        "test",
        "boot",
        "diff",
        "check-updates",
        "sources",
        "publish",
        "ci",
    } <= verbs


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_doc_command_parses(command) -> None:  # type: ignore[no-untyped-def]
    parser = build_parser()
    try:
        parser.parse_args(command.argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{command} does not parse (exit {exc.code})")


def test_a_drifted_doc_command_is_caught(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests import doccommands

    page = tmp_path / "page.md"
    page.write_text("```sh\nfai-overlay plan examples/default.yaml \\\n  --no-such-flag  # old\n```\n")
    (command,) = doccommands._commands(page, list(enumerate(page.read_text().splitlines()[1:3], start=2)))
    assert command.argv == ["fai-overlay", "plan", "examples/default.yaml", "--no-such-flag"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(command.argv[1:])


def test_the_readme_shows_the_default_definition_as_it_is() -> None:
    from tests.support import REPO

    readme = (REPO / "README.md").read_text()
    shown = readme.split("```yaml\n# examples/default.yaml\n", 1)[1].split("```", 1)[0]
    actual = "".join(
        ln + "\n"
        for ln in (REPO / "examples/default.yaml").read_text().splitlines()
        if not ln.startswith("#")
    )
    assert shown == actual
