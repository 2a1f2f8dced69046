"""The image's own programs on the host: a chroot of its read-only root, a scratch directory at /mnt.

Live tests use it to run code that must match the image (its Python and
libraries) next to the VM, e.g. a controller talking to the guest through
QEMU's forwarded ports (the chroot shares the host's network). The root is
mounted ro,noload; the host's scratch directory is bound read-only on the
image's empty /mnt, so the host writes inputs there and the program answers
on stdout. The environment is exactly ENV (no proxy, no locale, no OS_*).
A foreign image's programs run under qemu-user through binfmt_misc.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from overlay.core import commands
from overlay.core.errors import OverlayError
from overlay.core.runner import Result, Runner

ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "PYTHONDONTWRITEBYTECODE": "1",  # the root is read-only: no __pycache__
}


@dataclass(frozen=True)
class Chroot:
    root: Path
    scratch: Path  # on the host; /mnt inside
    runner: Runner

    def inside(self, host_path: Path) -> str:
        """Where a file of the scratch directory is seen inside the chroot."""
        return "/mnt/" + str(host_path.resolve().relative_to(self.scratch.resolve()))

    def argv(self, argv: Sequence[str]) -> list[str]:
        return commands.chroot(self.root, list(argv), ENV)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = False,
    ) -> Result:
        return self.runner.run(self.argv(argv), input=input, timeout=timeout, check=check)


@contextlib.contextmanager
def image_chroot(root: Path, scratch: Path, runner: Runner) -> Iterator[Chroot]:
    """Bind `scratch` on the image's /mnt for the duration; always unbound, also on Ctrl-C."""
    target = root / "mnt"
    if not target.is_dir() or target.is_symlink():
        raise OverlayError(f"the image has no /mnt directory to bind {scratch} on", path=root)
    runner.run(commands.bind_mount(scratch, target, read_only=True))
    try:
        yield Chroot(root, scratch, runner)
    finally:
        runner.run(commands.umount(target, lazy=True), check=False)
