#!/usr/bin/env bash
# Smoke test of the built bundle, as a user without Python would run it:
#   index a folder of photos, `labels add`, `tags`, `search`, `similar`, and open the window
#   (offscreen), each against a fresh library in a temporary folder.
#
# Usage: packaging/smoke_test.sh [BUNDLE_DIR] [PHOTOS_DIR]
#   BUNDLE_DIR  default dist/photomgr (from `make package`)
#   PHOTOS_DIR  a Caltech-101 style folder (default ../shared/photos/caltech101-dev or
#               $PHOTOMGR_SHARED_PHOTOS/caltech101-dev); 8 photos are copied from it.
#
# Isolation: as root with `unshare`, the test re-runs itself in a private mount and network
# namespace where the virtual environment, every Python installation it finds (the venv's
# base interpreter, /usr/lib/python3*, /usr/bin/python3*) are hidden under empty mounts and
# there is no network. Otherwise it only strips the environment (PATH=/usr/bin:/bin, no
# PYTHON* variables) and says so: move .venv away yourself for the full check.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="$(cd "${1:-$REPO/dist/photomgr}" && pwd)"
SHARED="${PHOTOMGR_SHARED_PHOTOS:-$REPO/../shared/photos}"
PHOTOS_SRC="${2:-$SHARED/caltech101-dev}"
EXE="$BUNDLE/photomgr"
STEP_TIMEOUT="${PHOTOMGR_SMOKE_TIMEOUT:-600}"
GUI_SECONDS="${PHOTOMGR_SMOKE_GUI_SECONDS:-40}"

[[ -x "$EXE" ]] || { echo "smoke: no bundle at $BUNDLE (run: make package)" >&2; exit 2; }
[[ -d "$PHOTOS_SRC" ]] || { echo "smoke: no test photos at $PHOTOS_SRC" >&2; exit 2; }

if [[ "${PHOTOMGR_SMOKE_ISOLATED:-}" != 1 && "$(id -u)" == 0 ]] && command -v unshare >/dev/null \
        && unshare --mount --net true 2>/dev/null; then
    HIDE=()
    # The venv, also when moved aside (.venv-away), and the interpreter it was made from
    # (pyvenv.cfg's `home` is that interpreter's bin/ folder).
    for cfg in "$REPO"/.venv*/pyvenv.cfg; do
        [[ -f "$cfg" ]] || continue
        HIDE+=("$(readlink -f "$(dirname "$cfg")")")
        home="$(sed -n 's/^home *= *//p' "$cfg")"
        base="$(readlink -f "$home/..")"
        # A system Python's prefix is /usr: its python3* paths are hidden below, not all of /usr.
        [[ -d "$home" && "$base" != /usr && "$base" != /usr/local ]] && HIDE+=("$base")
    done
    for p in /usr/lib/python3* /usr/local/lib/python3* /usr/bin/python3* /usr/local/bin/python3*; do
        [[ -e "$p" ]] && HIDE+=("$p")
    done
    exec env PHOTOMGR_SMOKE_ISOLATED=1 PHOTOMGR_SMOKE_HIDE="${HIDE[*]}" \
        unshare --mount --net --propagation private "$0" "$BUNDLE" "$PHOTOS_SRC"
fi

if [[ "${PHOTOMGR_SMOKE_ISOLATED:-}" == 1 ]]; then
    for p in ${PHOTOMGR_SMOKE_HIDE:-}; do
        if [[ -d "$p" ]]; then mount -t tmpfs -o ro,size=4k tmpfs "$p"; else mount --bind /dev/null "$p"; fi
        echo "hidden: $p"
    done
    echo "network: $(ip -brief link 2>/dev/null | awk '{print $1}' | tr '\n' ' ')(no network namespace peers)"
else
    echo "WARNING: not isolated (needs root and unshare); the environment is stripped only"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/photomgr-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/photos" "$WORK/home"
for cls in airplanes Leopards Motorbikes Faces_easy; do
    for f in $(ls "$PHOTOS_SRC/$cls" | sort | head -2); do cp "$PHOTOS_SRC/$cls/$f" "$WORK/photos/${cls}_$f"; done
done
LIB="$WORK/library"

# A bare environment: no venv on PATH, no PYTHONPATH/PYTHONHOME, a fresh HOME.
run() {
    env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 TMPDIR="$WORK" \
        QT_QPA_PLATFORM=offscreen timeout "$STEP_TIMEOUT" "$EXE" --library "$LIB" "$@"
}
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
step() { echo; echo "\$ photomgr $*"; }

echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
echo "python3 on the stripped PATH: $(env -i PATH=/usr/bin:/bin bash -c 'command -v python3 && python3 -c "print(1)" 2>&1 | head -1' || echo none)"

step index "$WORK/photos"
out="$(run index "$WORK/photos" 2>&1)" || { echo "$out"; fail "index"; }
tail -5 <<<"$out"

step labels add airplane leopard motorcycle
run labels add airplane leopard motorcycle || fail "labels add"

step labels list
out="$(run labels list)" || fail "labels list"
echo "$out"

step search "an airplane"
out="$(run search "an airplane" -k 3)" || fail "search"
echo "$out"
best="$(head -1 <<<"$out" | awk '{print $NF}')"  # the path is the last column
[[ "$best" == "$WORK/photos/airplanes_"* ]] || fail "search: the best match is not an airplane photo"

step tags "$best"
out="$(run tags "$best")" || fail "tags"
echo "$out"
grep -Eq "^ +airplane +[0-9.]+ +(tagged|confirmed)" <<<"$out" \
    || fail "tags: the best airplane match is not tagged airplane"

leopard="$WORK/photos/Leopards_$(ls "$PHOTOS_SRC/Leopards" | sort | head -1)"
step similar "$leopard" -k 3
out="$(run similar "$leopard" -k 3)" || fail "similar"
echo "$out"
head -1 <<<"$out" | grep -q "/Leopards_" || fail "similar: the nearest photo is not the other leopard"

step "(window, offscreen, ${GUI_SECONDS} s)"
# timeout ends the window after GUI_SECONDS: status 124 means it was still running then.
set +e
env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 TMPDIR="$WORK" QT_QPA_PLATFORM=offscreen \
    timeout -k 10 "$GUI_SECONDS" "$EXE" --library "$LIB" > "$WORK/gui.log" 2>&1
rc=$?
set -e
tail -5 "$WORK/gui.log"
[[ $rc == 124 ]] || fail "the window exited by itself (status $rc)"
! grep -q "Traceback" "$WORK/gui.log" || fail "the window logged a traceback"
echo "window ran ${GUI_SECONDS} s without error, closed by the test"

echo; echo "SMOKE OK"
