"""fai-diskimage's environment, and what of it may reach an output.

fai-diskimage gets only what it and the config space need: the host
variables named in HOST_VARIABLES (PATH, the locale, the proxy) and the
variables the plan sets (build/plan.py). Nothing else of the build host's
environment reaches FAI, so FAI's variables.log cannot publish a CI token.
FAI's logs are copied into the output through `scrub`, which drops any host
variable that is not allow-listed and masks credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping

from overlay.build.plan import Plan
from overlay.core.secrets import Redactor

HOST_VARIABLES = (
    "PATH", "LANG", "TMPDIR",
    "http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
)  # fmt: skip
VARIABLE_LINE_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


def host_part(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {k: environ[k] for k in HOST_VARIABLES if environ.get(k)}


def for_fai(
    plan: Plan, environ: Mapping[str, str] | None = None, proxy: str | None = None
) -> dict[str, str]:
    """The whole environment of the fai-diskimage process (the runner adds nothing to it).

    `proxy` is the package cache's URL when the build runs through one.
    """
    env = {**host_part(environ), **plan.env}
    if proxy:
        env["http_proxy"] = proxy
    return env


def redactor(plan: Plan, environ: Mapping[str, str] | None = None) -> Redactor:
    """Knows the credentials of this build: in its mirror, security mirror and proxy URLs."""
    spec = plan.spec
    return Redactor.of([spec.mirror, spec.security_mirror, spec.apt_proxy, *host_part(environ).values()])


def scrub_variables(text: str, given: Collection[str], environ: Mapping[str, str] | None = None) -> str:
    """FAI's variables.log without host variables that were not given to FAI.

    FAI's and the config space's own variables stay (they are not in the host's
    environment); a host variable stays only if it was passed on purpose.
    """
    environ = os.environ if environ is None else environ
    kept = []
    for line in text.splitlines(keepends=True):
        m = VARIABLE_LINE_RE.match(line)
        if m and m.group(1) in environ and m.group(1) not in given:
            continue
        kept.append(line)
    return "".join(kept)
