"""Debian's archive as fai-overlay reaches it by default: plain http (it is signed; a cache can keep it)."""

from __future__ import annotations

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
