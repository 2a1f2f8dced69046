"""Stage 2, composition.

In: the base (the embedded `base_classes/` or a debian-cloud-images checkout)
and the overlays of an ImageSpec. Out: the class list with reasons, and one
fresh FAI config space with compose.json giving every file's layer and
sha256. Conflicts, bad names, escaping symlinks and unmet `requires` are
errors here, before anything runs as root.
"""
