"""The image's dpkg database read from the host: ownership, md5sums, conffiles, diversions, path filters."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from overlay.verify import dpkgdb, imagefs

INFO = "var/lib/dpkg/info"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


TOOL, README, TINY, FULL = "tool v1\n", "readme\n", "tiny help\n", "full help\n"


def image(make_tree: Callable[..., Path], extra: dict[str, str] | None = None) -> Path:
    """A merged-/usr image with three packages: one file changed, one diverted, one conffile edited."""
    root = make_tree(
        "image",
        {
            "usr/bin/tool": "tool v1\n",
            "usr/share/doc/tool/README": "readme\n",
            "usr/share/help.txt": "tiny help\n",
            "usr/share/help.txt.tiny": "full help\n",
            "etc/tool.conf": "edited by the admin\n",
            f"{INFO}/tool.list": "/bin\n/bin/tool\n/usr/share/doc/tool/README\n/etc/tool.conf\n",
            f"{INFO}/tool.md5sums": f"{md5(TOOL)}  usr/bin/tool\n{md5(README)}  usr/share/doc/tool/README\n",
            f"{INFO}/tool.conffiles": "/etc/tool.conf\n",
            # help-full's help.txt is diverted by help-tiny, which ships its own
            f"{INFO}/help-full:amd64.list": "/usr/share/help.txt\n",
            f"{INFO}/help-full:amd64.md5sums": f"{md5(FULL)}  usr/share/help.txt\n",
            f"{INFO}/help-tiny.list": "/usr/share/help.txt\n",
            f"{INFO}/help-tiny.md5sums": f"{md5(TINY)}  usr/share/help.txt\n",
            "var/lib/dpkg/diversions": "/usr/share/help.txt\n/usr/share/help.txt.tiny\nhelp-tiny\n",
            "var/lib/dpkg/statoverride": "root messagebus 4754 /usr/lib/helper\n",
            **(extra or {}),
        },
    )
    (root / "bin").symlink_to("usr/bin")
    return root


def test_an_untouched_image_verifies(make_tree) -> None:  # type: ignore[no-untyped-def]
    assert dpkgdb.verify(dpkgdb.Database(image(make_tree))) == []


def test_changed_and_missing_files_are_reported_conffiles_aside(make_tree) -> None:  # type: ignore[no-untyped-def]
    root = image(make_tree)
    (root / "usr/bin/tool").write_text("tool v1, patched\n")
    (root / "usr/share/doc/tool/README").unlink()
    (root / "usr/share/help.txt.tiny").write_text("changed\n")  # where help-full's file lives now
    problems = [str(m) for m in dpkgdb.verify(dpkgdb.Database(root))]
    assert problems == [
        "/usr/share/help.txt.tiny (help-full:amd64: changed)",
        "/usr/bin/tool (tool: changed)",
        "/usr/share/doc/tool/README (tool: missing)",
    ]


def test_a_symlink_in_place_of_a_file_is_reported_not_followed(make_tree) -> None:  # type: ignore[no-untyped-def]
    root = image(make_tree)
    (root / "usr/bin/tool").unlink()
    (root / "usr/bin/tool").symlink_to("/etc/shadow")
    assert [m.problem for m in dpkgdb.verify(dpkgdb.Database(root))] == ["not a regular file"]


def test_files_dpkg_filters_kept_out_are_not_missing(make_tree) -> None:  # type: ignore[no-untyped-def]
    filters = "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
    root = image(make_tree, {"etc/dpkg/dpkg.cfg.d/slim": filters})
    (root / "usr/share/doc/tool/README").unlink()
    assert dpkgdb.verify(dpkgdb.Database(root)) == []
    parsed = dpkgdb.Database(root).filters()
    assert dpkgdb.excluded("/usr/share/doc/tool/README", parsed)
    assert not dpkgdb.excluded("/usr/share/doc/tool/copyright", parsed)  # the last match decides
    assert not dpkgdb.excluded("/usr/bin/tool", parsed)


def test_ownership_and_overrides_resolve_merged_usr(make_tree) -> None:  # type: ignore[no-untyped-def]
    db = dpkgdb.Database(image(make_tree))
    assert "/usr/bin/tool" in db.owned  # listed as /bin/tool
    assert db.overrides["/usr/lib/helper"] == dpkgdb.Override("root", "messagebus", 0o4754)
    assert db.digests["/usr/share/help.txt.tiny"] == md5(FULL)
    assert db.digests["/usr/bin/tool"] == md5(TOOL)


def test_paths_resolve_inside_the_image(make_tree) -> None:  # type: ignore[no-untyped-def]
    root = make_tree("image", {"usr/lib/x/file": "x", "etc/a": "a"})
    (root / "lib").symlink_to("usr/lib")
    (root / "etc/abs").symlink_to("/usr/lib/x")
    (root / "etc/loop").symlink_to("loop")
    resolver = imagefs.Resolver(root)
    assert resolver.canonical("/lib/x/file") == "/usr/lib/x/file"
    assert resolver.canonical("/etc/abs/file") == "/usr/lib/x/file"  # absolute: from the image's root
    assert resolver.host_path("/etc/abs/file") == root / "usr/lib/x/file"
    assert resolver.canonical("/etc/../lib/x") == "/usr/lib/x"
    assert resolver.canonical("/etc/loop/a").endswith("/a")  # a symlink loop ends, it does not hang


def test_a_file_another_package_took_over_is_checked_against_its_new_owner(make_tree) -> None:  # type: ignore[no-untyped-def]
    """forky's dpkg took its bash completion over from bash-completion (Replaces): the old owner's
    .list loses the path, its .md5sums keeps the old digest, as dpkg leaves it."""
    completion = "usr/share/bash-completion/completions/dpkg"
    root = image(
        make_tree,
        {
            completion: "new\n",
            f"{INFO}/bash-completion.list": "/usr/share/bash-completion\n",
            f"{INFO}/bash-completion.md5sums": f"{md5('old')}  {completion}\n",
            f"{INFO}/dpkg.list": f"/{completion}\n",
            f"{INFO}/dpkg.md5sums": f"{md5('new' + chr(10))}  {completion}\n",
        },
    )
    assert dpkgdb.verify(dpkgdb.Database(root)) == []
    (root / completion).write_text("tampered\n")
    assert [str(m) for m in dpkgdb.verify(dpkgdb.Database(root))] == [f"/{completion} (dpkg: changed)"]
