"""Class lists, checked against debian-cloud-images' algorithm.

`reference` below is a transcription of upstream's Check/Classes.update_combine
(src/debian_cloud_images/cli/build.py at 36cd5fc): start with BUILD_IMAGE,
BASE, DEBIAN; for the type, release, vendor and arch groups append each class
and then "<earlier>+<class>" for every class already in the list; end with
LAST. tests/integration/test_dci.py compares with upstream's own code.
"""

from __future__ import annotations

import itertools

import pytest
import yaml

from overlay.compose import classes, classmap
from overlay.compose.base import embedded_root


def reference(cfg: dict, release: str, vendor: str, arch: str, build_type: str) -> list[str]:
    data = ["BUILD_IMAGE", "BASE", "DEBIAN"]

    def get(group: str, name: str) -> list[str]:
        return next(x for x in cfg[group] if x["name"] == name).get("faiClasses", [])

    for group, name in (("types", build_type), ("releases", release), ("vendors", vendor), ("archs", arch)):
        new = []
        for o in get(group, name):
            new.append(o)
            for i in data:
                new.append(i + "+" + o)
        data.extend(new)
    return [*data, "LAST"]


CFG = yaml.safe_load((embedded_root() / "image.yaml").read_text())
CMAP = classmap.load(embedded_root() / "image.yaml")


@pytest.mark.parametrize(
    ("vendor", "arch", "build_type"),
    list(
        itertools.product(
            ["generic", "genericcloud", "nocloud"], ["amd64", "arm64", "ppc64el"], ["official", "dev"]
        )
    ),
)
def test_trixie_matches_upstream_algorithm(vendor: str, arch: str, build_type: str) -> None:
    got = classes.names(
        classes.compute(CMAP, release="trixie", vendor=vendor, arch=arch, build_type=build_type)
    )
    assert got == reference(CFG, "trixie", vendor, arch, build_type)


def test_start_and_type_combinations_literally() -> None:
    got = classes.names(
        classes.compute(CMAP, release="trixie", vendor="nocloud", arch="amd64", build_type="dev")
    )
    assert got[:7] == [
        "BUILD_IMAGE",
        "BASE",
        "DEBIAN",
        "TYPE_DEV",
        "BUILD_IMAGE+TYPE_DEV",
        "BASE+TYPE_DEV",
        "DEBIAN+TYPE_DEV",
    ]
    assert got[-1] == "LAST"
    # classes of one group are never combined with each other
    assert "TRIXIE+EXTRAS" not in got and "SYSTEM_BOOT+NOCLOUD" not in got
    assert "TRIXIE+NOCLOUD" in got and "BASE+TRIXIE+NOCLOUD+AMD64" in got


def test_sizes() -> None:
    n = len(classes.compute(CMAP, release="trixie", vendor="genericcloud", arch="amd64", build_type="dev"))
    assert n == 448  # the same count upstream gives for trixie/genericcloud/amd64/dev
    n = len(classes.compute(CMAP, release="trixie", vendor="nocloud", arch="amd64", build_type="official"))
    assert n == 192


def test_extra_classes_go_before_last_with_reasons() -> None:
    entries = classes.compute(
        CMAP,
        release="trixie",
        vendor="generic",
        arch="arm64",
        build_type="official",
        extra=[("SLIM", "provided by overlay slim"), ("MINE", "listed in the image")],
    )
    assert [e.name for e in entries[-3:]] == ["SLIM", "MINE", "LAST"]
    assert entries[-3].reason == "provided by overlay slim"


def test_duplicates_are_dropped() -> None:
    entries = classes.compute(
        CMAP,
        release="trixie",
        vendor="generic",
        arch="amd64",
        build_type="official",
        extra=[("CLOUD", "again"), ("X", "x"), ("X", "x")],
    )
    names = classes.names(entries)
    assert names.count("CLOUD") == 1 and names.count("X") == 1


def test_drop_removes_a_class_and_its_combinations() -> None:
    names = classes.names(
        classes.compute(
            CMAP, release="trixie", vendor="generic", arch="amd64", build_type="official", drop=["EXTRAS"]
        )
    )
    assert not [n for n in names if "EXTRAS" in n.split("+")]
    assert "LINUX_VERSION_BASE+AMD64" in names


def test_unknown_vendor_for_base() -> None:
    from overlay.core.errors import OverlayError

    with pytest.raises(OverlayError, match="vendor 'azure' is not defined by this base"):
        classes.compute(CMAP, release="trixie", vendor="azure", arch="amd64", build_type="dev")


def test_forky_is_supported() -> None:
    names = classes.names(
        classes.compute(CMAP, release="forky", vendor="generic", arch="ppc64el", build_type="official")
    )
    assert "FORKY" in names and "FORKY+PPC64EL" in names and "TRIXIE" not in names
