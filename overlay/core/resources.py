"""Files shipped inside the package: data tables, the embedded base, templates.

Everything is read through importlib.resources, so an installed wheel works
the same as a checkout.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from overlay.core import yamlsrc


def package_path(*parts: str) -> Path:
    """A directory or file inside the installed `overlay` package."""
    return Path(str(resources.files("overlay").joinpath(*parts)))


def data_path(name: str) -> Path:
    return package_path("data", name)


@functools.cache
def data_yaml(name: str) -> yamlsrc.Doc:
    """A YAML table from overlay/data, with line numbers for validation errors."""
    return yamlsrc.load(data_path(name))
