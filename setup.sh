#!/bin/sh
# Set up this Debian 12 or 13 machine for fai-overlay, as root:
# host packages from Debian, a virtualenv in .venv with fai-overlay installed
# (editable), and /usr/local/bin/fai-overlay.
#   ./setup.sh           set up only (and gitlab-ci-local, for the test suite)
#   ./setup.sh --build   set up, then build the default image into ./out
#   ./setup.sh --ci      set up in a CI job (docs/ci.md): no test-suite tools, no
#                        /usr/local/bin link (the job puts .venv/bin in PATH)
set -eu
cd "$(dirname "$0")"
MODE=${1:-}
case $MODE in
    "" | --build | --ci) ;;
    *) echo "setup.sh: unknown option $MODE (use --build or --ci)" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run this as root" >&2
    exit 2
fi

# build: FAI and the tools its hooks call, and the archive keyring with gpgv
# (check-updates and sources verify Release files); verify: QEMU and firmware
# for every architecture; cross: foreign-architecture builds; tests: the test
# suite (gpg signs its fake mirror). apt-cacher-ng: the package cache (cache: auto).
BUILD="fai-server fai-setup-storage debootstrap qemu-utils fdisk dosfstools mtools xz-utils zstd
       debsums python3-pytest python3-yaml git ca-certificates util-linux debian-archive-keyring gpgv
       apt-cacher-ng"
VERIFY="qemu-system-x86 qemu-system-arm qemu-system-ppc ovmf qemu-efi-aarch64 cloud-image-utils
        genisoimage openssh-client openssl"
CROSS="qemu-user-static binfmt-support"
TESTS="python3-venv python3-pip chromium curl gpg"
if [ "$MODE" = --ci ]; then
    TESTS="python3-venv python3-pip"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $BUILD $VERIFY $CROSS $TESTS
# fai-overlay starts its own apt-cacher-ng per build (cache: auto); the system service is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled apt-cacher-ng >/dev/null 2>&1; then
    systemctl disable --now apt-cacher-ng >/dev/null 2>&1 || true
fi

/usr/bin/python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
if [ "$MODE" = --ci ]; then
    .venv/bin/pip install -q -e .
else
    .venv/bin/pip install -q -e '.[dev]'
    ln -sf "$PWD/.venv/bin/fai-overlay" /usr/local/bin/fai-overlay
fi
echo "setup.sh: fai-overlay $(.venv/bin/fai-overlay --version | cut -d' ' -f2) is ready"

# The test suite runs the generated CI pipeline with gitlab-ci-local (docs/ci.md),
# which needs rsync and Node.js 20 or later: Debian 13's nodejs, or on Debian 12
# (Node.js 18) one from npm. 4.73.0 is the newest gitlab-ci-local for Node.js 20.
GITLAB_CI_LOCAL=4.73.0
if [ "$MODE" != --ci ]; then
    apt-get install -y -q --no-install-recommends rsync
    if ! command -v npm >/dev/null 2>&1; then
        apt-get install -y -q --no-install-recommends nodejs npm
    fi
    if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
        npm install -g --silent node@20
        hash -r
    fi
    if [ "$(gitlab-ci-local --version 2>/dev/null)" != "$GITLAB_CI_LOCAL" ]; then
        npm install -g --silent "gitlab-ci-local@$GITLAB_CI_LOCAL"
    fi
    echo "setup.sh: gitlab-ci-local $(gitlab-ci-local --version) is ready"
fi

if [ "$MODE" = --build ]; then
    exec .venv/bin/fai-overlay build examples/default.yaml -o out
fi
