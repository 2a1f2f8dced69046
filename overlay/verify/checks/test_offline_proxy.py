"""No proxy of the build is left in the environment files (apt's own settings: test_offline_tree)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.offline

# Files that set a proxy for shells, wget or curl system-wide or for root.
FILES = [
    "etc/environment", "etc/profile", "etc/profile.d/*",
    "etc/bash.bashrc", "etc/wgetrc", "etc/curlrc", "root/.bashrc", "root/.profile", "root/.wgetrc",
    "root/.curlrc", "etc/systemd/system.conf.d/*", "etc/security/pam_env.conf",
]  # fmt: skip
PROXY_RE = re.compile(r"(?i)(^|[^a-z_])(https?_proxy|ftp_proxy|Acquire::(https?|ftp)::Proxy|proxy\s*=)")


def test_no_build_proxy_in_environment_files(image_root: Path) -> None:
    hits = []
    for pattern in FILES:
        for path in sorted(image_root.glob(pattern)):
            if not path.is_file():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
                if not line.lstrip().startswith(("#", "//")) and PROXY_RE.search(line):
                    hits.append(f"/{path.relative_to(image_root)}:{number}: {line.strip()[:100]}")
    assert not hits, f"proxy settings from the build are in the image: {'; '.join(hits)}"
