"""Booting images under QEMU: command lines, acceleration, seed, console, QMP."""
