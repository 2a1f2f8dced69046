"""Pure command builders: each returns an argv list and runs nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def fai_diskimage(
    *, classes: Sequence[str], size: str, cspace: Path, raw: Path, hostname: str = "debian"
) -> list[str]:
    return [
        "fai-diskimage",
        "--verbose",
        "--hostname", hostname,
        "--class", ",".join(classes),
        "--size", size,
        "--cspace", str(cspace),
        str(raw),
    ]  # fmt: skip


def qcow2_convert(raw: Path, out: Path) -> list[str]:
    return ["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compat=1.1", str(raw), str(out)]


def qcow2_overlay(backing: Path, backing_format: str, out: Path, size: str) -> list[str]:
    return ["qemu-img", "create", "-f", "qcow2", "-F", backing_format, "-b", str(backing), str(out), size]


def raw_from_qcow2(image: Path, out: Path) -> list[str]:
    return ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(image), str(out)]


def tar_disk_raw(raw: Path, out_tar: Path) -> list[str]:
    """A sparse tar holding the image as disk.raw, like debian-cloud-images' tar step."""
    return [
        "tar", "--create", "--sparse", "--format=gnu", "--owner=0", "--group=0",
        "--directory", str(raw.parent), "--transform", "s/.*/disk.raw/",
        "--file", str(out_tar), raw.name,
    ]  # fmt: skip


def xz(path: Path, threads: int = 0) -> list[str]:
    return ["xz", "-5", f"-T{threads}", "--force", str(path)]


def losetup_attach(
    image: Path,
    *,
    read_only: bool,
    offset: int | None = None,
    sizelimit: int | None = None,
    partscan: bool = False,
) -> list[str]:
    argv = ["losetup", "--find", "--show"]
    if read_only:
        argv.append("--read-only")
    if partscan:
        argv.append("--partscan")
    if offset is not None:
        argv += ["--offset", str(offset)]
    if sizelimit is not None:
        argv += ["--sizelimit", str(sizelimit)]
    return [*argv, str(image)]


def losetup_detach(device: str) -> list[str]:
    return ["losetup", "--detach", device]


def mount(device: str, target: Path, *, options: str, fstype: str | None = None) -> list[str]:
    argv = ["mount", "-o", options]
    if fstype:
        argv += ["-t", fstype]
    return [*argv, device, str(target)]


def umount(target: Path, *, lazy: bool = False) -> list[str]:
    return ["umount", *(["--lazy"] if lazy else []), str(target)]


def bind_mount(source: Path, target: Path, *, read_only: bool = True) -> list[str]:
    return ["mount", "--bind", *(["-o", "ro"] if read_only else []), str(source), str(target)]


def chroot(root: Path, argv: list[str], env: dict[str, str]) -> list[str]:
    """Run `argv` in `root` with exactly `env` (env -i: nothing of ours leaks in, no proxy, no OS_*)."""
    return ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in sorted(env.items())), *argv]


def config_drive_iso(iso: Path, tree: Path) -> list[str]:
    """An OpenStack config drive from a directory tree, with the options Nova uses."""
    return [
        "genisoimage", "-o", str(iso), "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
        "-quiet", "-J", "-r", "-V", "config-2", str(tree),
    ]  # fmt: skip


def sfdisk_json(image: Path) -> list[str]:
    return ["sfdisk", "--json", str(image)]


def mdir(image: Path, offset: int, path: str = "::/") -> list[str]:
    return ["mdir", "-i", f"{image}@@{offset}", "-/", "-b", path]


def dpkg_query(admindir: Path, fmt: str) -> list[str]:
    return ["dpkg-query", f"--admindir={admindir}", "--show", f"--showformat={fmt}"]


def gpgv(
    keyrings: Sequence[Path],
    signature: Path,
    data: Path | None = None,
    *,
    homedir: Path,
    output: Path | None = None,
) -> list[str]:
    """Verify `signature` (clear-signed, or detached over `data`); status lines on stdout (fd 1)."""
    argv = ["gpgv", "--homedir", str(homedir), "--status-fd", "1"]
    for keyring in keyrings:
        argv += ["--keyring", str(keyring)]
    if output is not None:
        argv += ["--output", str(output)]
    return [*argv, str(signature), *([str(data)] if data is not None else [])]
