"""Stage 7, publication.

In: build manifests and output directories. Out: `diff` reports, update checks
against the mirror, verified source bundles, and a cloud.debian.org-style tree
with SHA512SUMS, `latest` links, retention and one results page.
"""
