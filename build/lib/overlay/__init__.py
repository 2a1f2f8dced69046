"""fai-overlay: compose FAI config spaces from a base and overlays, build, verify, publish."""

__version__ = "0.1.0"
