#!/bin/sh
# Set up this Debian 12 or 13 machine for fai-overlay, as root:
# host packages from Debian, a virtualenv in .venv with fai-overlay installed
# (editable), and /usr/local/bin/fai-overlay.
#   ./setup.sh           set up only
#   ./setup.sh --build   set up, then build the default image into ./out
set -eu
cd "$(dirname "$0")"

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
.venv/bin/pip install -q -e '.[dev]'
ln -sf "$PWD/.venv/bin/fai-overlay" /usr/local/bin/fai-overlay
echo "setup.sh: fai-overlay $(.venv/bin/fai-overlay --version | cut -d' ' -f2) is ready"

if [ "${1:-}" = "--build" ]; then
    exec .venv/bin/fai-overlay build examples/default.yaml -o out
fi
