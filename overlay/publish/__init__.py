"""From build to publication: source bundles, manifest diffs, update checks and the published tree."""
