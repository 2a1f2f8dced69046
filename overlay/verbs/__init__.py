"""One module per group of verbs; each exposes register(subparsers) functions."""

from __future__ import annotations

from overlay.verbs import image, publish, verify

REGISTRY = [
    image.register_plan,
    image.register_compose,
    image.register_build,
    verify.register_test,
    verify.register_boot,
]
REGISTRY += publish.REGISTER  # sources, diff, check-updates, publish
