"""One module per group of verbs; each exposes register(subparsers) functions."""

from __future__ import annotations

from overlay.verbs import image

REGISTRY = [image.register_plan, image.register_compose, image.register_build]
