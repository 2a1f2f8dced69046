"""Planted faults: one change to a copy of a real image, and the offline check(s) that must catch it.

Every offline check of overlay/verify/checks proves it can fail: a fault is
planted into a sparse copy of a built image (its root partition attached at its
byte offset, read-write, no udev needed; the ESP changed with mtools; the
manifest copy edited), `fai-overlay test` runs on the copy, and the failed
checks must be exactly the planted faults' checks, each with its message.
Faults that hit different checks share a copy, so a few copies cover them all.

Used by tests/integration/test_planted_faults.py (on the suite's default build)
and by hand, on any image with its manifest next to it (root; no build):

    python3 -m tests.faults IMAGE.raw [WORKDIR]
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.core import arches, disk
from overlay.core.runner import Runner
from overlay.verify.target import expectations

REPO = Path(__file__).resolve().parent.parent
# check ids are module.test[param]
ACC = "test_offline_accounts."
APT = "test_offline_apt."
BOOT = "test_offline_boot."
CI = "test_offline_cloudinit."
PKG = "test_offline_packages."
SSHD = "test_offline_sshd."
INTEGRITY = "test_offline_integrity."
KEY_PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlantedPlantedPlantedPlantedPlantedPlanted planted@build\n"


@dataclass
class Facts:
    """What a fault needs to know about the image: its manifest (editable) and architecture."""

    manifest: dict[str, Any]

    @property
    def arch(self) -> arches.Arch:
        return arches.get(self.manifest["image"]["arch"])

    @property
    def release(self) -> str:
        return str(self.manifest["image"]["release"])

    @property
    def packages(self) -> set[str]:
        return {p["name"] for p in self.manifest["packages"]}


Plant = Callable[[Path, Facts], None]


@dataclass(frozen=True)
class Fault:
    name: str
    # check id (module.test[param]) -> the text(s) its failure message must contain
    expect: dict[str, str | tuple[str, ...]]
    root: Plant | None = None  # changes the root filesystem, mounted read-write
    image: Callable[[Path, Facts], None] | None = None  # changes the disk image, unmounted (the ESP)
    manifest: Callable[[Facts], None] | None = None  # changes the copy's manifest
    applies: Callable[[Facts], bool] = field(default=lambda facts: True)


# --- small file edits inside the mounted root ------------------------------------------------


def write(rel: str, text: str, mode: int = 0o644) -> Plant:
    def plant(root: Path, facts: Facts) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(text.format(release=facts.release))
        path.chmod(mode)

    return plant


def edit(rel: str, change: Callable[[str, Facts], str]) -> Plant:
    def plant(root: Path, facts: Facts) -> None:
        path = root / rel
        before = path.read_text()
        after = change(before, facts)
        assert after != before, f"planting into /{rel} changed nothing"
        path.write_text(after)

    return plant


def sub(pattern: str, repl: str) -> Callable[[str, Facts], str]:
    return lambda text, facts: re.sub(pattern.format(release=facts.release), repl, text, flags=re.M)


def every(*plants: Plant) -> Plant:
    def plant(root: Path, facts: Facts) -> None:
        for p in plants:
            p(root, facts)

    return plant


def chmod(rel: str, mode: int) -> Plant:
    return lambda root, facts: (root / rel).chmod(mode)


def remove(pattern: str) -> Plant:
    def plant(root: Path, facts: Facts) -> None:
        hits = sorted(root.glob(pattern))
        assert hits, f"nothing matches /{pattern} in the image"
        for hit in hits:
            shutil.rmtree(hit) if hit.is_dir() and not hit.is_symlink() else hit.unlink()

    return plant


def _status_stanza(name: str, facts: Facts) -> str:
    return (
        f"\nPackage: {name}\nStatus: install ok installed\nPriority: optional\nSection: kernel\n"
        f"Maintainer: planted <planted@invalid>\nArchitecture: {facts.arch.name}\nVersion: 1.0\n"
        f"Description: planted kernel flavour\n"
    )


def _other_kernel(facts: Facts) -> str:
    wanted = facts.arch.kernel[facts.manifest["image"]["vendor"]]
    return next(k for k in facts.arch.kernel.values() if k != wanted)


def _plant_kernel(root: Path, facts: Facts) -> None:
    status = root / "var/lib/dpkg/status"
    status.write_text(status.read_text().rstrip("\n") + "\n" + _status_stanza(_other_kernel(facts), facts))


def _manifest_kernel(facts: Facts) -> None:
    name = _other_kernel(facts)
    facts.manifest["packages"].append(
        {
            "name": name,
            "version": "1.0",
            "architecture": facts.arch.name,
            "source": name,
            "source_version": "1.0",
        }
    )


def _manifest_drop(name: str) -> Callable[[Facts], None]:
    def change(facts: Facts) -> None:
        before = len(facts.manifest["packages"])
        facts.manifest["packages"] = [p for p in facts.manifest["packages"] if p["name"] != name]
        assert len(facts.manifest["packages"]) < before, f"{name} is not in the manifest"

    return change


def _duplicate_first_source(root: Path, facts: Facts) -> None:
    first = sorted((root / "etc/apt/sources.list.d").glob("*.sources"))[0]
    stanza = first.read_text().split("\n\n")[0]
    (root / "etc/apt/sources.list.d/planted-again.sources").write_text(stanza.strip() + "\n")


def _no_security(root: Path, facts: Facts) -> None:
    """The release's -security suite becomes -proposed-updates: still valid sources, no security updates."""
    changed = sub(r"\b{release}-security\b", f"{facts.release}-proposed-updates")
    hits = [
        p
        for p in sorted((root / "etc/apt/sources.list.d").glob("*.sources"))
        if "-security" in p.read_text()
    ]
    assert hits, "no -security suite in the image's sources"
    for path in hits:
        edit(str(path.relative_to(root)), changed)(root, facts)


def _grub_platform(root: Path, facts: Facts) -> None:
    shutil.rmtree(root / "boot/grub" / facts.arch.grub_platforms[-1])


def _console_off(text: str, facts: Facts) -> str:
    console = re.escape(facts.arch.console)
    return re.sub(rf"^(\s*linux\s.*?) ?\bconsole={console}\S*", r"\1", text, flags=re.M)


def _absent(names: list[str]) -> Plant:
    def plant(root: Path, facts: Facts) -> None:
        for rel in names:
            path = root / rel
            if rel.count("/") == 0:  # /vmlinuz, /initrd.img: the kernel links of old Debian builds
                path.symlink_to(f"boot/{rel}-planted")
            elif rel == "var/log/fai":
                (path / "planted").mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("planted leftover of the build\n")

    return plant


def _setuid(root: Path, facts: Facts) -> None:
    write("usr/local/bin/planted-suid", "#!/bin/sh\nexec /bin/sh\n", 0o4755)(root, facts)
    (root / "usr/bin/find").chmod(0o4755)


def _delete_from_esp(image: Path, facts: Facts) -> None:
    esp = next(p for p in disk.partitions(image, Runner()) if p.is_esp)
    subprocess.run(
        ["mdel", "-i", f"{image}@@{esp.start}", f"::/{facts.arch.efi_boot_file}"],
        check=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )


# --- the faults --------------------------------------------------------------------------


def _absent_faults() -> list[Fault]:
    names = list(expectations()["absent"])
    logs = [n for n in names if n.startswith("var/log/")]
    others = [n for n in names if n not in logs]
    log_expect = {f"test_offline_tree.test_build_leftover_absent[{n}]": f"/{n} should not be" for n in logs}
    listing = ", ".join(sorted([n.removeprefix("var/log/") for n in logs] + ["planted-build.log"]))
    return [
        # var/log leftovers also fail the /var/log allow-list: one fault for all of them
        Fault(
            "build logs in /var/log",
            {**log_expect, "test_offline_tree.test_var_log_holds_only_allowed_entries": listing},
            root=every(_absent(logs), write("var/log/planted-build.log", "build log\n")),
        ),
        Fault(
            "build leftovers",
            {f"test_offline_tree.test_build_leftover_absent[{n}]": f"/{n} should not be" for n in others},
            root=_absent(others),
        ),
    ]


def faults() -> list[Fault]:
    tree = "test_offline_tree."
    out = [
        # test_offline_tree
        *[
            Fault(
                f"leftover in /{d}",
                {f"{tree}test_directory_is_empty[{d}]": (f"/{d} should be empty", "planted-leftover")},
                root=write(f"{d}/planted-leftover", "x\n"),
            )
            for d in expectations()["empty_dirs"]
        ],
        Fault(
            "ssh host key",
            {f"{tree}test_no_ssh_host_keys": "ssh host keys were baked into the image"},
            root=write("etc/ssh/ssh_host_ed25519_key", KEY_PEM, 0o600),
        ),
        Fault(
            "machine-id set",
            {f"{tree}test_machine_id_is_not_set": "every VM would share the build's machine id"},
            root=write("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444),
        ),
        *_absent_faults(),
        Fault(
            "resolv.conf copied",
            {f"{tree}test_resolv_conf_is_not_the_build_hosts": "/etc/resolv.conf is a regular file"},
            root=write("etc/resolv.conf", "nameserver 192.0.2.53\n"),
        ),
        Fault(
            "hostname set",
            {f"{tree}test_hostname_is_empty": "/etc/hostname is 'planted-build-host'"},
            root=write("etc/hostname", "planted-build-host\n"),
        ),
        Fault(
            "apt proxy",
            {f"{tree}test_no_apt_proxy_settings": "apt proxy settings from the build are in the image"},
            root=write("etc/apt/apt.conf.d/99planted", 'Acquire::http::Proxy "http://192.0.2.1:3142";\n'),
        ),
        Fault(
            "proxy in the environment",
            {"test_offline_proxy.test_no_build_proxy_in_environment_files": "image: /etc/environment:"},
            root=edit("etc/environment", lambda text, facts: text + "http_proxy=http://192.0.2.1:3142\n"),
        ),
        Fault(
            "qemu-user binary",
            {f"{tree}test_no_leftover_qemu_user_binaries": "qemu-user binaries from a cross build"},
            root=lambda root, facts: write(f"usr/bin/{facts.arch.qemu_user}-static", "ELF", 0o755)(
                root, facts
            ),
        ),
        # test_offline_accounts
        Fault(
            "unknown user",
            {f"{ACC}test_users_are_known_system_accounts": "intruder: not a known system user"},
            root=edit("etc/passwd", lambda t, f: t + "intruder:x:1000:1000::/home/intruder:/bin/bash\n"),
        ),
        Fault(
            "unknown group",
            {f"{ACC}test_groups_are_known_system_groups": "intruders: not a known system group"},
            root=edit("etc/group", lambda t, f: t + "intruders:x:1000:\n"),
        ),
        Fault(
            "sudo group missing",
            {f"{ACC}test_required_group_exists[sudo]": "group sudo is missing"},
            root=edit("etc/group", sub(r"^sudo:.*\n", "")),
        ),
        # test_offline_apt
        Fault(
            "one-line-style sources",
            {f"{APT}test_sources_are_deb822": "one-line-style sources besides deb822: planted.list"},
            root=write(
                "etc/apt/sources.list.d/planted.list", "deb http://planted.invalid/debian {release} main\n"
            ),
        ),
        Fault(
            "target configured twice",
            {f"{APT}test_no_target_configured_twice": "apt sources configure a target twice"},
            root=_duplicate_first_source,
        ),
        Fault(
            "sources apt cannot read",
            {f"{APT}test_no_target_configured_twice": "apt-get cannot read the image's sources"},
            root=write(
                "etc/apt/sources.list.d/planted-broken.sources",
                "Types: deb\nURIs: http://planted.invalid/debian\nComponents: main\n",
            ),
        ),
        Fault(
            "no security suite",
            {f"{APT}test_security_and_updates_present": "apt sources lack {release}-security"},
            root=_no_security,
        ),
        Fault(
            "backports not asked for",
            {f"{APT}test_no_backports_unless_asked": "stable-backports"},
            root=write(
                "etc/apt/sources.list.d/planted-backports.sources",
                "Types: deb\nURIs: https://deb.debian.org/debian\nSuites: stable-backports\n"
                "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
            ),
        ),
        # test_offline_boot
        Fault(
            "no initrd",
            {f"{BOOT}test_kernel_initrd_and_grub_cfg_exist": "no initrd (/boot/initrd.img-*)"},
            root=remove("boot/initrd.img-*"),
        ),
        Fault(
            "GRUB platform directory missing",
            {f"{BOOT}test_grub_platform_directories": "which are missing"},
            root=_grub_platform,
        ),
        Fault(
            "grub.cfg names a loop device",
            {f"{BOOT}test_grub_cfg_names_no_build_host_device": "names devices of the build host"},
            root=edit("boot/grub/grub.cfg", sub(r"root=PARTUUID=\S+", "root=/dev/loop0p1")),
        ),
        Fault(
            "no serial console",
            {f"{BOOT}test_serial_console_on_kernel_command_line": "on the kernel command line"},
            root=edit("boot/grub/grub.cfg", _console_off),
        ),
        Fault(
            "fstab without growfs",
            {f"{BOOT}test_fstab_mounts_root_by_partuuid_with_growfs": "lacks x-systemd.growfs"},
            root=edit("etc/fstab", sub(r",x-systemd\.growfs", "")),
        ),
        Fault(
            "empty ESP",
            {f"{BOOT}test_esp_holds_the_boot_loader": "UEFI firmware would find nothing to boot"},
            image=_delete_from_esp,
            applies=lambda facts: facts.arch.efi_boot_file is not None,
        ),
        # test_offline_cloudinit
        Fault(
            "cloud-init leaves /etc/hosts alone",
            {f"{CI}test_cloud_init_manages_etc_hosts": "manage_etc_hosts: False"},
            root=write("etc/cloud/cloud.cfg.d/99_planted.cfg", "manage_etc_hosts: false\n"),
            applies=lambda facts: "cloud-init" in facts.packages,
        ),
        # test_offline_packages
        Fault(
            "half-configured package",
            {f"{PKG}test_every_package_is_installed": "base-passwd (install/half-configured)"},
            root=edit(
                "var/lib/dpkg/status",
                sub(
                    r"(^Package: base-passwd\n(?:[^\n]+\n)*?Status: install ok )installed$",
                    r"\1half-configured",
                ),
            ),
        ),
        Fault(
            "second kernel flavour",
            {f"{PKG}test_kernel_flavour_matches_vendor": "other kernel flavours are installed"},
            root=_plant_kernel,
            manifest=_manifest_kernel,
        ),
        Fault(
            "manifest lies",
            {f"{PKG}test_manifest_matches_image": "only in image ['base-files']"},
            manifest=_manifest_drop("base-files"),
        ),
    ]
    return out + security_faults()


def security_faults() -> list[Fault]:
    sec, secrets = "test_offline_security.", "test_offline_secrets."
    return [
        Fault(
            "root has a password",
            {f"{sec}test_root_is_locked": "root's password is not locked in /etc/shadow"},
            root=edit(
                "etc/shadow", sub(r"^root:[^:]*:", "root:$y$j9T$planted$PlantedPlantedPlantedPlanted:")
            ),
        ),
        Fault(
            "account without password",
            {f"{sec}test_no_account_has_an_empty_password": "games (/etc/shadow)"},
            root=edit("etc/shadow", sub(r"^games:[^:]*:", "games::")),
        ),
        Fault(
            "account with a password hash",
            {f"{sec}test_no_account_has_a_usable_password_hash": "man (/etc/shadow)"},
            root=edit("etc/shadow", sub(r"^man:[^:]*:", "man:$6$planted$PlantedPlantedPlanted:")),
        ),
        Fault(
            "gshadow readable by all",
            {f"{sec}test_shadow_files_are_not_readable_by_others": "/etc/gshadow (0644)"},
            root=chmod("etc/gshadow", 0o644),
        ),
        Fault(
            "world-writable file and directory",
            {
                f"{sec}test_no_world_writable_files_or_directories": (
                    "/etc/planted.conf (0666)",
                    "/srv/planted (0777)",
                )
            },
            root=every(
                write("etc/planted.conf", "x\n", 0o666),
                write("srv/planted/file", "x\n"),
                chmod("srv/planted", 0o777),
            ),
        ),
        Fault(
            "setuid programs Debian does not ship",
            {
                f"{sec}test_setuid_and_setgid_files_are_debians": (
                    "/usr/local/bin/planted-suid (4755 root:root): no package owns it",
                    "/usr/bin/find (4755 root:root): not a setuid/setgid program Debian ships",
                )
            },
            root=_setuid,
        ),
        Fault(
            "private key",
            {f"{secrets}test_no_private_keys_outside_package_files": "/opt/planted/server.key"},
            root=write("opt/planted/server.key", KEY_PEM, 0o600),
        ),
        Fault(
            "authorized_keys",
            {f"{secrets}test_no_authorized_keys": "/root/.ssh/authorized_keys"},
            root=write("root/.ssh/authorized_keys", PUBKEY, 0o600),
        ),
        Fault(
            "shell history",
            {f"{secrets}test_no_shell_or_editor_histories": "/root/.bash_history"},
            root=write("root/.bash_history", "sudo passwd root\n", 0o600),
        ),
        Fault(
            "cloud credentials",
            {f"{secrets}test_no_credential_files": "/root/.aws/credentials"},
            root=write("root/.aws/credentials", "[default]\naws_access_key_id = AKIAPLANTED\n", 0o600),
        ),
        Fault(
            "sshd accepts root and passwords",
            {
                f"{SSHD}test_sshd_setting_is_safe[PermitRootLogin]": (
                    "PermitRootLogin yes (/etc/ssh/sshd_config.d/10-planted.conf:1)"
                ),
                f"{SSHD}test_sshd_setting_is_safe[PasswordAuthentication]": "sshd accepts passwords",
                f"{SSHD}test_sshd_setting_is_safe[KbdInteractiveAuthentication]": "keyboard-interactive",
            },
            # before the base's 50-cloud.conf, so its values are the ones sshd uses
            root=write(
                "etc/ssh/sshd_config.d/10-planted.conf",
                "PermitRootLogin yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication yes\n",
            ),
        ),
        Fault(
            "package files changed or gone",
            {
                f"{INTEGRITY}test_package_files_match_dpkg_md5sums": (
                    "/usr/lib/os-release (base-files: changed)",
                    "/usr/share/common-licenses/GPL-3 (base-files: missing)",
                ),
            },
            root=every(
                edit("usr/lib/os-release", lambda t, f: t + "PLANTED=1\n"),
                remove("usr/share/common-licenses/GPL-3"),
            ),
        ),
    ]


# --- planting and judging ----------------------------------------------------------------


def groups(chosen: list[Fault]) -> list[list[Fault]]:
    """Faults in as few copies as possible: faults in one copy never share a check."""
    out: list[list[Fault]] = []
    for fault in chosen:
        for group in out:
            if not any(set(fault.expect) & set(other.expect) for other in group):
                group.append(fault)
                break
        else:
            out.append([fault])
    return out


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def mounted_rw(image: Path) -> Iterator[Path]:
    """The image's root filesystem attached at its byte offset and mounted read-write; always released."""
    part = disk.root_partition(disk.partitions(image, Runner()), image)
    with contextlib.ExitStack() as stack:
        mnt = image.parent / f".{image.name}.mnt"
        mnt.mkdir(exist_ok=True)
        stack.callback(mnt.rmdir)
        loop = _run(
            [
                "losetup",
                "--find",
                "--show",
                "--offset",
                str(part.start),
                "--sizelimit",
                str(part.size),
                str(image),
            ]
        )
        stack.callback(subprocess.run, ["losetup", "--detach", loop], check=False)
        _run(["mount", "-t", "ext4", loop, str(mnt)])
        stack.callback(subprocess.run, ["umount", str(mnt)], check=False)
        yield mnt


def copy_image(image: Path, dest: Path) -> Path:
    """A sparse copy of IMAGE.raw and its manifest in `dest`, named alike."""
    dest.mkdir(parents=True, exist_ok=True)
    raw = dest / image.name
    subprocess.run(["cp", "--sparse=always", str(image), str(raw)], check=True)
    shutil.copy(image.with_name(image.name.removesuffix(".raw") + ".build.json"), manifest_of(raw))
    return raw


def manifest_of(raw: Path) -> Path:
    return raw.with_name(raw.name.removesuffix(".raw") + ".build.json")


def plant(raw: Path, chosen: list[Fault]) -> None:
    facts = Facts(json.loads(manifest_of(raw).read_text()))
    with mounted_rw(raw) as root:
        for fault in chosen:
            if fault.root:
                fault.root(root, facts)
    for fault in chosen:
        if fault.image:
            fault.image(raw, facts)
        if fault.manifest:
            fault.manifest(facts)
    manifest_of(raw).write_text(json.dumps(facts.manifest, indent=2))


def run_test(raw: Path) -> subprocess.CompletedProcess[str]:
    """`fai-overlay test` on the copy, without the upstream second opinion."""
    env = {**os.environ, "FAI_OVERLAY_DCI": ""}
    return subprocess.run(
        [sys.executable, "-m", "overlay", "test", str(raw)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


def failures(junit: Path) -> dict[str, str]:
    """Failed checks of a junit file: 'module.test[param]' -> the whole failure text."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            check = f"{case.get('classname', '').split('.')[-1]}.{case.get('name')}"
            out[check] = f"{problem.get('message', '')}\n{problem.text or ''}"
    return out


def judge(failed: dict[str, str], chosen: list[Fault], facts: Facts) -> list[str]:
    """What is wrong: a planted fault not caught (or without its message), or a check failing unplanted."""
    wanted: dict[str, list[str]] = {}
    for fault in chosen:
        for check, texts in fault.expect.items():
            for text in (texts,) if isinstance(texts, str) else texts:
                wanted.setdefault(check, []).append(text.format(release=facts.release))
    problems = [
        f"{check} failed, but no fault was planted for it" for check in sorted(set(failed) - set(wanted))
    ]
    for check, texts in sorted(wanted.items()):
        if check not in failed:
            problems.append(f"{check} did not fail")
            continue
        problems += [f"{check} failed without '{t}' in its message" for t in texts if t not in failed[check]]
    return problems


@dataclass
class Outcome:
    raw: Path
    faults: list[Fault]
    problems: list[str]
    seconds: dict[str, float]
    returncode: int
    stderr: str


def run_group(source: Path, dest: Path, chosen: list[Fault]) -> Outcome:
    """Copy, plant, test and judge one group of faults."""
    t0 = time.monotonic()
    raw = copy_image(source, dest)
    t1 = time.monotonic()
    plant(raw, chosen)
    t2 = time.monotonic()
    proc = run_test(raw)
    t3 = time.monotonic()
    facts = Facts(json.loads(manifest_of(raw).read_text()))
    junit = dest / f"{facts.manifest['name']}.test.junit.xml"
    problems = (
        judge(failures(junit), chosen, facts) if junit.is_file() else [f"no junit: {proc.stderr[-2000:]}"]
    )
    if proc.returncode != 1:
        problems.append(f"fai-overlay test exited {proc.returncode}, not 1")
    seconds = {"copy": t1 - t0, "plant": t2 - t1, "test": t3 - t2}
    return Outcome(raw, chosen, problems, seconds, proc.returncode, proc.stderr)


def applicable(source: Path) -> list[Fault]:
    facts = Facts(json.loads(manifest_of(source).read_text()))
    return [f for f in faults() if f.applies(facts)]


def main(argv: list[str]) -> int:
    source = Path(argv[0]).resolve()
    work = Path(argv[1] if len(argv) > 1 else f"/var/tmp/planted-faults.{os.getpid()}")
    total = 0
    bad = 0
    for i, group in enumerate(groups(applicable(source))):
        outcome = run_group(source, work / f"copy{i}", group)
        total += sum(outcome.seconds.values())
        times = ", ".join(f"{k} {v:.1f}s" for k, v in outcome.seconds.items())
        print(f"copy{i}: {len(group)} faults, {sum(len(f.expect) for f in group)} checks ({times})")
        for problem in outcome.problems:
            print(f"  PROBLEM {problem}")
        bad += len(outcome.problems)
        outcome.raw.unlink()
    print(f"{'ok' if not bad else f'{bad} problems'} in {total:.1f}s; results in {work}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
