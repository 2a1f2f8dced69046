"""The architecture table: every entry is complete, and no code outside it names an architecture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from overlay.core import arches
from overlay.core.errors import OverlayError
from overlay.vm import qemu
from tests.support import REPO


@pytest.mark.parametrize("name", arches.names())
def test_every_architecture_has_every_fact(name: str) -> None:
    arch = arches.get(name)
    assert arch.name == name and arch.uname and arch.qemu_user.startswith("qemu-")
    assert re.fullmatch(r"[0-9A-F-]{36}", arch.root_type)
    assert arch.grub_platforms and arch.console
    assert set(arch.kernel) == {"generic", "genericcloud", "nocloud"}
    assert arch.qemu.default_firmware and set(arch.qemu.default_firmware) <= set(arch.qemu.firmware)
    assert set(arch.qemu.timeouts) == set(arches.PHASES)
    for fw in arch.qemu.firmware.values():
        argv = qemu.qemu_argv(arch, fw.name, "tcg", qemu.VmFiles(Path("/vm")))
        assert argv[0] == arch.qemu.binary and fw.machine in argv
        assert (fw.code is not None) == any(a.startswith("if=pflash") for a in argv)
    assert arch.uefi == (arch.efi_boot_file is not None)
    assert arch.timeouts("kvm")["kernel"] < arch.timeouts("tcg")["kernel"]


def test_unknown_architecture_and_firmware_are_errors_with_choices() -> None:
    with pytest.raises(OverlayError, match="architecture 'sparc64' is not one of: ") as info:
        arches.get("sparc64")
    assert "arches.yaml" in (info.value.hint or "")
    arch = arches.get(arches.names()[0])
    with pytest.raises(OverlayError, match="cannot boot with firmware 'coreboot'"):
        arch.firmware("coreboot")


def test_host_architecture_comes_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    for arch in arches.table().values():
        monkeypatch.setattr(platform, "machine", lambda a=arch: a.uname)
        assert arches.host() == arch
    monkeypatch.setattr(platform, "machine", lambda: "vax")
    assert arches.host() is None


def test_a_broken_table_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from overlay.core import resources

    text = (REPO / "overlay/data/arches.yaml").read_text().replace("tcg_thread: single", "tcg_thread: many")
    (tmp_path / "arches.yaml").write_text(text)
    monkeypatch.setattr(resources, "data_path", lambda name: tmp_path / name)
    resources.data_yaml.cache_clear()
    arches.table.cache_clear()
    try:
        with pytest.raises(OverlayError, match="tcg_thread is single or multi") as info:
            arches.table()
        assert info.value.line and str(info.value.path).endswith("arches.yaml")
    finally:
        resources.data_yaml.cache_clear()
        arches.table.cache_clear()


def _code_files() -> list[Path]:
    return [p for p in (REPO / "overlay").rglob("*.py") if "base_classes" not in p.parts]


def test_no_architecture_name_outside_the_table() -> None:
    names = {n for a in arches.table().values() for n in (a.name, a.uname, a.qemu_user)}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    hits = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in _code_files()
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not hits, "architecture names belong in overlay/data/arches.yaml:\n" + "\n".join(hits)
