"""Shared by every stage: the error type, progress log, the process runner and
pure argv builders, YAML with line numbers, hashes, junit files, disk images
on the host, packaged data, and the per-architecture table."""
