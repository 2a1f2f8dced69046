#!/bin/bash
# fai-overlay in one command, narrated: the conference demo (docs/demo.md is its outline).
#
#   sudo examples/demo/run.sh [--out DIR] [--dry-run] [-- EXTRA BUILD FLAGS]
#
# Starts from the official config space when FAI_OVERLAY_DCI points at a
# debian-cloud-images checkout, else from fai-overlay's embedded base. Builds,
# checks offline and boots a lean Octavia amphora (the octavia-amphora blend with
# EXTRAS dropped, as the slim blend does), builds the plain genericcloud image of
# the same base, diffs the two manifests, and publishes both into a tree with its
# results page. Everything it makes goes to DIR (default: ./demo-out), which it
# empties first; fai-overlay removes its own loop devices, mounts and QEMU
# processes. Flags after -- go to both builds (e.g. -- --cache auto).
# --dry-run prints the steps and commands and runs nothing (no root needed).
set -euo pipefail

OUT=demo-out
DRY=0
EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        --dry-run) DRY=1; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$(realpath -m "$OUT")
if [ -x "$REPO/.venv/bin/fai-overlay" ]; then
    FO=$REPO/.venv/bin/fai-overlay
elif command -v fai-overlay >/dev/null 2>&1; then
    FO=$(command -v fai-overlay)
else
    echo "run.sh: fai-overlay is not installed: run ./setup.sh first" >&2
    exit 2
fi
cd "$REPO"  # the definitions are examples/…, as on the slides

if [ -t 1 ]; then
    BOLD=$'\e[1m' DIM=$'\e[2m' CYAN=$'\e[36m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m'
else
    BOLD='' DIM='' CYAN='' GREEN='' RED='' RESET=''
fi

# ---- narration and timing ----------------------------------------------------

STEP=0 TITLE='' T0=0 STARTED=$(date +%s)
TITLES=() SECONDS_TAKEN=() PROBLEMS=()

rel() {  # a path as the slides show it: relative to the repository when inside it
    case $1 in "$REPO"/*) echo "${1#"$REPO"/}" ;; *) echo "$1" ;; esac
}

duration() {
    local s=$1
    if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

begin() {  # begin TITLE WHAT-IT-DOES…
    STEP=$((STEP + 1)) TITLE=$1 T0=$(date +%s)
    shift
    printf '\n%s== %d. %s%s\n' "$BOLD" "$STEP" "$TITLE" "$RESET"
    local line
    for line in "$@"; do printf '   %s\n' "$line"; done
}

say() {  # the speaker's line
    printf '%s   » %s%s\n' "$CYAN" "$*" "$RESET"
}

show() {  # the command as typed, paths relative to the repository
    local words=() w
    for w in "$@"; do
        w=$(rel "$w")
        [[ $w =~ [[:space:]\'\"\$\;\&\|\<\>\(\)\*\?] ]] && w="'$w'"
        words+=("$w")
    done
    printf '%s$ %s%s\n' "$DIM" "${words[*]}" "$RESET"
}

finish() {
    local took=$(($(date +%s) - T0))
    TITLES+=("$TITLE") SECONDS_TAKEN+=("$took")
    printf '   %s(%s)%s\n' "$DIM" "$(duration "$took")" "$RESET"
}

fai_overlay() {  # show the command, then run it (not in a dry run)
    show fai-overlay "$@"
    [ "$DRY" = 1 ] || "$FO" "$@"
}

fai_overlay_to() {  # fai_overlay_to FILE ARGS…: the same, stdout into FILE
    local file=$1
    shift
    show fai-overlay "$@"
    [ "$DRY" = 1 ] || "$FO" "$@" > "$file"
}

manifest_of() {  # the manifest path in a `build --json` result; empty if the build made none
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r[0]["manifest"] if r else "")' "$1"
}

on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$DRY" = 0 ] && [ "$STEP" -gt 0 ]; then
        printf '\n%sThe demo stopped (exit %d) in step %d, %s.%s\n' "$RED" "$rc" "$STEP" "$TITLE" "$RESET"
        echo "fai-overlay cleans up its own builds and boots: no loop device, mount or QEMU process is left."
        echo "What was made so far is in $(rel "$OUT")."
    fi
}
trap on_exit EXIT

# ---- what to build -----------------------------------------------------------

if [ -n "${FAI_OVERLAY_DCI:-}" ]; then
    BASE="the official config space"
    BASE_WHERE="debian-cloud-images at $FAI_OVERLAY_DCI"
    BLEND=examples/octavia-amphora-dci.yaml
    PLAIN=examples/demo/genericcloud-dci.yaml
    NAME='debian-{release}-amphora-lean-{arch}-dci'
    PLAIN_NAME=debian-trixie-genericcloud-amd64-base-dci
else
    BASE="fai-overlay's embedded base"
    BASE_WHERE="FAI_OVERLAY_DCI=~/dci (a debian-cloud-images checkout) takes the official config space instead"
    BLEND=examples/octavia-amphora.yaml
    PLAIN=examples/genericcloud.yaml
    NAME='debian-{release}-amphora-lean-{arch}'
    PLAIN_NAME=debian-trixie-genericcloud-amd64-base
fi
LEAN=(--drop-class EXTRAS --name "$NAME")
AMPHORA_NAME=${NAME//\{release\}/trixie} AMPHORA_NAME=${AMPHORA_NAME//\{arch\}/amd64}  # as a dry run shows it
IMAGES=$OUT/images TREE=$OUT/tree

if [ "$DRY" = 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: fai-diskimage needs root: sudo $0 $*" >&2
        exit 2
    fi
    if [ -e "$OUT" ] && [ ! -e "$OUT/.fai-overlay-demo" ] && [ -n "$(ls -A "$OUT")" ]; then
        echo "run.sh: $OUT is not empty and is not an earlier demo's output: choose another --out" >&2
        exit 2
    fi
    rm -rf "$OUT"
    mkdir -p "$IMAGES"
    touch "$OUT/.fai-overlay-demo"
fi

if [ -e /dev/kvm ]; then
    ACCEL="/dev/kvm exists: QEMU uses KVM if it works (fai-overlay checks), else emulation (TCG)"
else
    ACCEL="no /dev/kvm: QEMU emulates the CPU (TCG), a boot takes about a minute instead of seconds"
fi

printf '%sfai-overlay: Debian cloud images built the way Debian builds them, plus your own layers, without forking%s\n' \
    "$BOLD" "$RESET"
echo "   base:    $BASE; $BASE_WHERE"
echo "   host:    $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo) memory; $ACCEL"
echo "   output:  everything goes to $(rel "$OUT")/ (emptied first); nothing else is left behind"
[ "$DRY" = 0 ] || echo "   dry run: the commands are shown, not run"

# ---- 1. plan -------------------------------------------------------------------

begin "Plan: what will be built, and why" \
    "The octavia-amphora blend (an overlay in FAI's own layout) on $BASE," \
    "without the EXTRAS class. plan prints the layers, every FAI class with the reason it is there," \
    "the environment and the exact fai-diskimage command. It writes nothing and needs no root."
say "The class list is computed the way debian-cloud-images computes it: most classes are combinations like BASE+AMD64."
say "Why not the slim blend too? octavia-agent Depends on apparmor, iputils-ping and curl, which slim removes or"
say "  checks are gone: apt would refuse. So we take slim's first cut, --drop-class EXTRAS, which any image can take."
show fai-overlay plan "$BLEND" "${LEAN[@]}" -o "$IMAGES" "${EXTRA[@]}"
if [ "$DRY" = 0 ]; then
    "$FO" plan "$BLEND" "${LEAN[@]}" -o "$IMAGES" "${EXTRA[@]}" 2>&1 | awk '
        /combination of/ { combos++; next }
        /^# environment/ && combos { printf "#   … and %d combination classes\n", combos }
        length($0) > 120 { print substr($0, 1, 117) "…"; next }
        { print }'
fi
finish

# ---- 2. build, test, boot ----------------------------------------------------------

begin "Build it, check it offline, boot it" \
    "Composes base + overlay into one config space, runs fai-diskimage, and judges FAI's status.log (the exit" \
    "code is not enough), then writes the manifest. --test mounts the image read-only for the offline checks;" \
    "--boot starts it in QEMU and checks it over ssh: cloud-init, the network, and the amphora's mutual-TLS API."
say "While it builds: every FAILED line in FAI's status.log must be explained, or the build fails."
say "The blend brings its own tests (examples/octavia-amphora/tests): they run next to fai-overlay's checks."
rc=0
fai_overlay_to "$OUT/amphora.json" build "$BLEND" "${LEAN[@]}" -o "$IMAGES" --test --boot --firmware bios --json \
    "${EXTRA[@]}" || rc=$?
AMPHORA_JSON=$IMAGES/$AMPHORA_NAME.build.json
if [ "$DRY" = 0 ]; then
    AMPHORA_JSON=$(manifest_of "$OUT/amphora.json")
    if [ -z "$AMPHORA_JSON" ]; then
        echo "the build failed: see $(rel "$IMAGES")/*.build.log and *.build.failed.json"
        exit "$rc"
    elif [ "$rc" -ne 0 ]; then
        PROBLEMS+=("the amphora's offline or live checks failed: the results page shows which")
        printf '%s   some checks failed: the results page will show which%s\n' "$RED" "$RESET"
    else
        printf '%s   built, checked offline and booted: all checks passed%s\n' "$GREEN" "$RESET"
    fi
    BOOT_JSON=${AMPHORA_JSON%.build.json}.boot.json
    if [ -f "$BOOT_JSON" ]; then
        python3 - "$BOOT_JSON" <<'EOF'
import json
import sys

for firmware, boot in json.load(open(sys.argv[1])).items():
    phases = ", ".join(f"{name.split(': ', 1)[-1]} {seconds:.0f}s" for name, seconds in boot["phases"].items())
    print(f"   {firmware} boot under {boot['accel'].upper()}: {phases}")
EOF
        ACCEL=$(python3 -c 'import json, sys; print(", ".join(sorted({b["accel"].upper() for b in json.load(open(sys.argv[1])).values()})))' "$BOOT_JSON")
    fi
fi
finish

# ---- 3. the plain image --------------------------------------------------------------

begin "The plain image of the same base, to compare against" \
    "genericcloud from the same base, the same day, with no blend: what you would get without fai-overlay's layers."
say "Rebuilds are reproducible: each build leaves a <name>.rebuild script next to its manifest."
fai_overlay_to "$OUT/plain.json" build "$PLAIN" -o "$IMAGES" --json "${EXTRA[@]}"
PLAIN_JSON=$IMAGES/$PLAIN_NAME.build.json
[ "$DRY" = 1 ] || PLAIN_JSON=$(manifest_of "$OUT/plain.json")
finish

# ---- 4. diff ---------------------------------------------------------------------------

begin "What the blend changed: the manifest diff" \
    "Packages added, removed and changed (exact versions), classes, layers, settings; and whether the content" \
    "differs (exit 3), which is the rule publish uses to decide whether a new build is worth publishing."
say "The full diff is in $(rel "$OUT")/diff.txt; here the headlines and a few packages."
rc=0
fai_overlay_to "$OUT/diff.txt" diff "$PLAIN_JSON" "$AMPHORA_JSON" || rc=$?
if [ "$DRY" = 0 ]; then
    [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || exit "$rc"
    awk -v keys='^(octavia-agent|haproxy|keepalived|ipvsadm|vim|man-db|bash-completion|screen):' '
        function flush() {
            if (more) printf "  … and %d more packages\n", more
            if (combos) printf "  … and %d combination classes\n", combos
            more = combos = 0
        }
        /^packages:/ { section = "packages"; print; next }
        /^classes:/ { flush(); section = "classes"; print; next }
        /^layers:/ { flush(); section = "layers"; print; next }
        /^  [-+~] / && section == "packages" { if ($2 ~ keys) print; else more++; next }
        /^  [-+~] / && section == "classes" { if ($2 ~ /[+]/) combos++; else print; next }
        /^(setting|content)/ { flush() }
        { print }' "$OUT/diff.txt"
fi
finish

# ---- 5. publish -----------------------------------------------------------------------

begin "Publish: a cloud.debian.org-style tree and its results page" \
    "Both images into one daily version directory: raw, compressed qcow2, tar.xz, manifests, logs, junit" \
    "results, SHA512SUMS, a 'latest' link, retention, and one static index.html."
say "The page is one file with its CSS inline and no JavaScript: serve the tree with any web server."
say "The slow part is xz: every image is also published as tar.xz, and xz is as fast as the cores it gets."
fai_overlay publish "$IMAGES" --to "$TREE"
if [ "$DRY" = 0 ]; then
    echo "   results page: $(rel "$TREE")/index.html  (file://$TREE/index.html)"
    python3 "$HERE/page_summary.py" "$TREE/index.html" | sed 's/^/   /'
fi
finish

# ---- the end ---------------------------------------------------------------------------

printf '\n%sTimings%s (%s; QEMU: %s)\n' "$BOLD" "$RESET" "$(nproc) cores" "$([ "$DRY" = 1 ] && echo 'dry run' || echo "$ACCEL")"
for i in "${!TITLES[@]}"; do
    printf '   %-62s %8s\n' "$((i + 1)). ${TITLES[$i]}" "$(duration "${SECONDS_TAKEN[$i]}")"
done
printf '   %-62s %8s\n' "total" "$(duration $(($(date +%s) - STARTED)))"
echo "Everything is in $(rel "$OUT")/: images/ (builds, logs, manifests), tree/ (the published tree), diff.txt."
echo "Remove it with: rm -rf $(rel "$OUT")"
if [ "${#PROBLEMS[@]}" -gt 0 ]; then
    for problem in "${PROBLEMS[@]}"; do printf '%s%s%s\n' "$RED" "$problem" "$RESET"; done
    exit 1
fi
