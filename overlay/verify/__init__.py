"""Proving an image twice: offline (mounted, read-only) and live (booted in QEMU)."""
