"""Stage 3, the build.

In: an ImageSpec. `plan` turns it into a Plan (layers, classes with reasons,
environment, the exact fai-diskimage argv) without writing anything; `run`
composes the config space, runs fai-diskimage, judges FAI's verdict from its
logs, converts the image, writes the manifest and hands everything over to the
output directory in one step; `pipeline` chains build, offline test and boot,
and checks a manifest's layers before a rebuild.
"""
