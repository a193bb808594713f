#!/usr/bin/env bash
# Remove what packaging/install-desktop.sh installed: exactly the paths in its manifest, then
# the manifest, the install folder and the folders the install created, if they are empty.
# The photo library is not touched.
set -euo pipefail

PREFIX="${PHOTOMGR_PREFIX:-$HOME/.local/lib/photomgr}"
MANIFEST="$PREFIX/install-manifest.txt"

if [[ ! -f "$MANIFEST" ]]; then
    echo "uninstall-desktop: nothing to remove (no $MANIFEST)" >&2
    exit 0
fi
DIRS=()  # folders the install created: removed last, deepest first, and only when empty
while IFS= read -r path; do
    [[ -n "$path" ]] || continue
    case "$path" in
        */) DIRS=("${path%/}" "${DIRS[@]}"); continue ;;
        "$PREFIX"/*) rm -rf -- "$path" ;;              # the bundle folder
        *) if [[ -L "$path" || -f "$path" ]]; then rm -f -- "$path"; fi ;;  # never a folder
    esac
    echo "removed $path"
done < "$MANIFEST"
rm -f -- "$MANIFEST"
rmdir -- "$PREFIX" 2>/dev/null || true
for dir in "${DIRS[@]}"; do
    if [[ -d "$dir" ]] && rmdir -- "$dir" 2>/dev/null; then echo "removed $dir/"; fi
done

