#!/usr/bin/env bash
# Remove what packaging/install-desktop.sh installed: exactly the paths in its manifest, then
# the manifest and the (then empty) install folder. The photo library is not touched.
set -euo pipefail

PREFIX="${PHOTOMGR_PREFIX:-$HOME/.local/lib/photomgr}"
MANIFEST="$PREFIX/install-manifest.txt"

if [[ ! -f "$MANIFEST" ]]; then
    echo "uninstall-desktop: nothing to remove (no $MANIFEST)" >&2
    exit 0
fi
while IFS= read -r path; do
    [[ -n "$path" ]] || continue
    case "$path" in
        "$PREFIX"/*) rm -rf -- "$path" ;;              # the bundle folder
        *) if [[ -L "$path" || -f "$path" ]]; then rm -f -- "$path"; fi ;;  # never a folder
    esac
    echo "removed $path"
done < "$MANIFEST"
rm -f -- "$MANIFEST"
rmdir -- "$PREFIX" 2>/dev/null || true

