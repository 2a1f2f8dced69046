"""Naming rules, each stated once: FAI classes, variables, image and overlay names, sizes."""

from __future__ import annotations

import re

CLASS_RE = re.compile(r"^[A-Z0-9_]+(\+[A-Z0-9_]+)*$")
CLASS_HINT = "FAI class names use A-Z, 0-9 and _ (no '-', '.', '#', ';'); combinations join classes with '+'"

VAR_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")  # FAI's class variables: upper-case shell names
# An image's variables go into fai-diskimage's environment. These names would
# steer the build host's shell, loader, interpreters and tools, FAI itself, or
# fai-overlay's own variables, so they are refused.
RESERVED_VARS = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "PWD", "OLDPWD", "TMPDIR", "TZ", "LANG",
        "LANGUAGE", "ENV", "BASH_ENV", "IFS", "PS4", "CDPATH", "SHELLOPTS", "BASHOPTS", "GLOBIGNORE",
        "POSIXLY_CORRECT", "LOGDIR", "ROOTCMD", "APT_CONFIG", "DEBIAN_FRONTEND", "GCONV_PATH", "NLSPATH",
        "LOCPATH", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "WGETRC", "CURL_HOME", "PERLLIB",
        "PERL5LIB", "PERL5OPT", "GNUPGHOME", "MAIL", "EDITOR", "VISUAL", "PAGER",
    }
)  # fmt: skip
RESERVED_VAR_PREFIXES = (
    "LD_", "LC_", "BASH_", "PYTHON", "FAI_", "CLOUD_BUILD_", "CLOUD_RELEASE_", "APT_", "DPKG_", "SSL_",
    "CURL_", "GIT_", "GPG", "MALLOC_", "GLIBC_", "PERL", "RUBY", "NODE_", "SUDO_", "SSH_", "DBUS_", "XDG_",
)  # fmt: skip
VAR_HINT = (
    "use an upper-case name of your own (A-Z, 0-9, _); names that steer the build host or FAI "
    "(PATH, LD_*, BASH_ENV, IFS, PYTHON*, FAI_*, CLOUD_BUILD_*, *_PROXY, …) are refused"
)

IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
IMAGE_NAME_HINT = "use letters, digits, '.', '_', '+' and '-'"
OVERLAY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SIZE_RE = re.compile(r"^[1-9][0-9]*[MG]$")


def valid_class(name: str) -> bool:
    return bool(CLASS_RE.match(name))


def valid_variable(name: str) -> bool:
    return (
        bool(VAR_RE.match(name))
        and name not in RESERVED_VARS
        and not name.startswith(RESERVED_VAR_PREFIXES)
        and not name.endswith("_PROXY")
    )


def valid_image_name(name: str) -> bool:
    return bool(IMAGE_NAME_RE.match(name))
