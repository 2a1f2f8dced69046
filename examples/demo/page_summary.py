#!/usr/bin/env python3
"""A short text summary of a results page (TREE/index.html of `fai-overlay publish`) for the terminal.

Per published version and image: the files with their sizes, the package count, and the
offline, live and in-build test results. Standard library only, so Debian's python3 runs it:

    python3 examples/demo/page_summary.py demo-out/tree/index.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

VOID = {"meta", "link", "br", "img", "hr", "input"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find(self, tag: str, cls: str | None = None) -> Iterator[Node]:
        """Descendants with this tag (and class), in document order."""
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.classes()):
                    yield child
                yield from child.find(tag, cls)

    def first(self, tag: str, cls: str | None = None) -> Node | None:
        return next(self.find(tag, cls), None)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split()).replace(" :", ":").replace(" .", ".").replace(" ,", ",")


class Tree(HTMLParser):
    """The page as nested Nodes (the page is generated, so its tags are balanced)."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("root", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, 0, -1):
            if self.open[i].tag == tag:
                del self.open[i:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def _text(node: Node | None) -> str:
    return node.text() if node else ""


def _suite(test: Node) -> list[str]:
    status = test.attrs.get("data-status", "")
    label = _text(test.first("strong"))
    link = test.first("a")
    detail = _text(link) if link else test.text().split(":", 1)[-1].strip()
    problems = test.first("ul", "problems")
    status = "not run" if status == "missing" else status
    line = f"    {label}: {status}" + (f" ({detail})" if detail else "")
    return [line, *(f"      {_text(li)}" for li in (problems.find("li") if problems else []))]


def _image(article: Node) -> list[str]:
    files = article.first("ul", "files")
    sizes = [
        f"{_text(li.first('a'))} {_text(li.first('span', 'size'))}"
        for li in (files.find("li") if files else [])
        if li.first("span", "size")
    ]
    lines = [f"  {_text(article.first('h4'))}", f"    files: {', '.join(sizes)}"]
    lines.append(f"    {_text(article.first('p', 'packages'))}")
    for test in article.find("div", "test"):
        lines += _suite(test)
    lines.append(f"    {_text(article.first('div', 'diff'))}")
    return lines


def summary(html: str) -> list[str]:
    tree = Tree()
    tree.feed(html)
    lines: list[str] = []
    for release in tree.root.find("section", "release"):
        name = _text(release.first("h2"))
        for version in release.find("section", "version"):
            lines.append(f"{name} {_text(version.first('h3')).replace(' published ', ', published ')}")
            for article in version.find("article", "image"):
                lines += _image(article)
    return lines or ["nothing is published on this page"]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} TREE/index.html")
    print("\n".join(summary(Path(sys.argv[1]).read_text())))


if __name__ == "__main__":
    main()
