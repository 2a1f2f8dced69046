"""docs/fai-without-wrapper.md without building: its script is well-formed and its class list is upstream's.

The build itself runs in tests/integration/test_fai_without_wrapper.py (root, the mirror).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from overlay.compose import classes as classlist
from overlay.compose import classmap
from overlay.compose.base import embedded_root
from tests import docshell


def snippet_classes(image_yaml: Path, build_type: str, release: str, vendor: str, arch: str) -> list[str]:
    """The page's class-list program, run as the page runs it (python3 - IMAGE.yaml TYPE …)."""
    proc = subprocess.run(
        [sys.executable, "-", str(image_yaml), build_type, release, vendor, arch],
        input=docshell.class_snippet(),
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip().split(",")


def fai_overlay_classes(
    image_yaml: Path, build_type: str, release: str, vendor: str, arch: str
) -> list[str]:
    cmap = classmap.load(image_yaml)
    entries = classlist.compute(cmap, release=release, vendor=vendor, arch=arch, build_type=build_type)
    return classlist.names(entries)


def test_the_first_block_is_host_setup_and_not_run() -> None:
    found = docshell.blocks(docshell.PAGE.read_text())
    assert found[0][0] is False and "apt-get install" in found[0][1]
    assert all(run for run, _ in found[1:]), "only the host setup block is left out"


def test_the_script_is_valid_bash_with_the_paths_replaced(tmp_path: Path) -> None:
    text = docshell.script(Path("/srv/dci"), tmp_path / "out")
    assert "DCI=/srv/dci\n" in text and f"OUT={tmp_path / 'out'}\n" in text
    assert "~/dci" not in text
    subprocess.run(["bash", "-n", "-c", text], check=True)


def test_the_page_calls_fai_diskimage_as_upstream_does() -> None:
    text = docshell.script(Path("/srv/dci"), Path("/out"))
    call = next(ln for ln in text.splitlines() if ln.startswith("fai-diskimage "))
    assert call == (
        'fai-diskimage --verbose --hostname debian --class "$CLASSES" --size 3G '
        '--cspace "$DCI/config_space/13" "$OUT/$CLOUD_BUILD_NAME.raw"'
    )
    for variable in (
        "CLOUD_BUILD_INFO",
        "CLOUD_BUILD_NAME",
        "CLOUD_BUILD_OUTPUT_DIR",
        "CLOUD_RELEASE_ID",
        "CLOUD_RELEASE_VERSION",
        "CLOUD_BUILD_SYSTEM_TESTS",
        "PYTHONPATH",
    ):
        assert f"\nexport {variable}=" in text, f"the page does not set {variable}"


def test_a_page_without_the_settings_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="DCI"):
        docshell.script(Path("/srv/dci"), Path("/out"), text="```sh\nOUT=/x\n```\n")
    with pytest.raises(ValueError, match="OUT"):
        docshell.script(Path("/srv/dci"), Path("/out"), text="```sh\nDCI=~/dci\n```\n")


@pytest.mark.parametrize(
    ("build_type", "release", "vendor", "arch"),
    list(
        itertools.product(
            ["official", "dev"], ["trixie", "forky"], ["genericcloud", "nocloud"], ["amd64", "arm64"]
        )
    ),
)
def test_the_snippet_computes_fai_overlays_class_list(
    build_type: str, release: str, vendor: str, arch: str
) -> None:
    image_yaml = embedded_root() / "image.yaml"  # the same schema as upstream's
    assert snippet_classes(image_yaml, build_type, release, vendor, arch) == fai_overlay_classes(
        image_yaml, build_type, release, vendor, arch
    )


def test_the_snippet_on_the_checkout_gives_upstreams_224_classes(dci: Path) -> None:
    image_yaml = dci / "src/debian_cloud_images/resources/image.yaml"
    got = snippet_classes(image_yaml, "official", "trixie", "genericcloud", "amd64")
    assert got == fai_overlay_classes(image_yaml, "official", "trixie", "genericcloud", "amd64")
    assert len(got) == 224 and got[:3] == ["BUILD_IMAGE", "BASE", "DEBIAN"] and got[-1] == "LAST"


def test_the_page_names_what_a_build_shows_today() -> None:
    assert docshell.expected_failures() == {
        "mountdisks.BASE": 32,
        "repository.BASE": 1,
        "tests.BUILD_IMAGE": 1,
    }
    assert docshell.waived_tests() == {
        "test_etc.TestEtc.test_group_name[clock]",
        "test_etc.TestEtc.test_passwd_name[dhcpcd]",
    }
