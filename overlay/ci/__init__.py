"""Stage 8, continuous integration: the whole pipeline as a GitLab CI configuration.

In: image definitions (loaded as ImageSpecs, one per architecture) and the
runner options (tags per architecture, firmwares to boot, setup, publish
tree). Out: `gitlab` turns them into a pipeline, a plain dict dumped as YAML
(`fai-overlay ci … > .gitlab-ci.yml`): build, offline-test and live-boot jobs
per image and architecture, publish on the default branch, and a scheduled
check-updates that rebuilds only when a published image has updates. Every
path a job writes is named from the constants of the stage that writes it.
"""
