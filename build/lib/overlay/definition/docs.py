"""The field list of docs/image-definition.md, generated from the field table.

    .venv/bin/python -m overlay.definition.docs docs/image-definition.md

rewrites the table between the markers; tests/unit/test_fields.py fails when
the page and the table disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from overlay.definition.fields import Cli
from overlay.definition.spec import settings

START = "<!-- fields: generated from overlay/definition/spec.py by python -m overlay.definition.docs -->"
END = "<!-- end of fields -->"
FLAG_NOTE = {
    Cli.replace: "",
    Cli.replace_list: " (repeat it)",
    Cli.append: " (repeat it; adds)",
    Cli.merge: " (repeat it; adds)",
    Cli.toggle: " / `--no-…`",
}


def table() -> str:
    rows = ["| key | flag | default | meaning |", "|---|---|---|---|"]
    for s in settings():
        value = f" {s.metavar}" if s.metavar else ""
        flag = f"`{s.flag}{value}`{FLAG_NOTE[s.cli]}"
        rows.append(f"| `{s.key}` | {flag} | {s.doc_default} | {s.help} |")
    return "\n".join(rows)


def render(page: str) -> str:
    """The page with its field table replaced by the generated one."""
    head, sep, rest = page.partition(START)
    if not sep or END not in rest:
        raise SystemExit(f"the page has no '{START}' … '{END}' markers")
    return f"{head}{START}\n{table()}\n{END}{rest.partition(END)[2]}"


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.write_text(render(target.read_text()))
