"""Stage 4, the manifest.

In: what a build captured (packages, layers, FAI's verdict, outputs). Out:
<name>.build.json, written and read only through `model` (typed, validated);
`record` gathers its pieces during the build.
"""
