"""Booting images under QEMU, for the live checks.

In: an image, an architecture (the arch table) and a firmware. Out: a running
VM (qcow2 overlay, firmware vars, NoCloud seed or config drive, NICs, console,
QMP), always stopped by its own PID. Pure argv builders live in `qemu`; KVM or
TCG is chosen in `accel`.
"""
