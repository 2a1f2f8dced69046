"""No host secret reaches an output: a build with a canary in its environment and a password in its
apt proxy URL leaves neither in any file of its output directory (images included) or a published
tree (tests/integration/test_publish_builds.py publishes this build and checks the tree)."""

from __future__ import annotations

import json

import pytest

from tests.support import CANARY, PROXY_PASSWORD, secrets_in

pytestmark = [pytest.mark.integration, pytest.mark.builds("default-again")]


def test_canary_and_proxy_password_reach_no_output(default_again, canary_proxy) -> None:  # type: ignore[no-untyped-def]
    url, seen = canary_proxy
    assert seen.requests, "the build did not go through the proxy"
    assert f"builder:{PROXY_PASSWORD}" in seen.credentials  # the password reached the process that needs it
    assert secrets_in(default_again.out_dir) == []
    manifest = json.loads(default_again.manifest_path.read_text())
    assert manifest["image"]["apt_proxy"].startswith("http://***@127.0.0.1:")
    assert manifest["fai"]["env"]["http_proxy"] == manifest["image"]["apt_proxy"]
    variables = (default_again.out_dir / f"{default_again.name}.fai-logs/variables.log").read_text()
    assert CANARY not in variables and "CI_JOB_TOKEN" not in variables
    assert "http_proxy=http://***@127.0.0.1:" in variables
