"""Stages 5 and 6, verification.

In: an image and its manifest. `offline` mounts the image read-only and runs
the checks (pytest with the `plugin`, checks/ plus the overlays' tests);
`live` boots it in QEMU per firmware (through vm/) and runs the live checks
over ssh. Out: <name>.test.junit.xml and .test.txt, <name>.boot.junit.xml,
.boot.json, .boot.txt and the console logs, next to the image.
"""
