#!/usr/bin/env bash
# Install the built bundle for the current user where desktop environments look (XDG):
#   bundle    $PHOTOMGR_PREFIX (default ~/.local/lib/photomgr)
#   launcher  ~/.local/bin/photomgr -> the bundle's executable
#   entry     $XDG_DATA_HOME/applications/io.github.photomgr.photomgr.desktop
#   icons     $XDG_DATA_HOME/icons/hicolor/{SIZE}x{SIZE}/apps/ and scalable/apps/
#   metainfo  $XDG_DATA_HOME/metainfo/io.github.photomgr.photomgr.metainfo.xml
# ($XDG_DATA_HOME defaults to ~/.local/share.) Every path written is recorded in
# $PHOTOMGR_PREFIX/install-manifest.txt, which packaging/uninstall-desktop.sh reads to remove
# exactly those. Your photo library (~/.local/share/photomgr/library) is never touched.
#
# Usage: packaging/install-desktop.sh [BUNDLE_DIR]   (default: dist/photomgr from `make package`)
set -euo pipefail

APP_ID=io.github.photomgr.photomgr
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="${1:-$REPO/dist/photomgr}"
RES="$REPO/resources"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${PHOTOMGR_PREFIX:-$HOME/.local/lib/photomgr}"
BIN_DIR="${PHOTOMGR_BIN_DIR:-$HOME/.local/bin}"
MANIFEST="$PREFIX/install-manifest.txt"

if [[ ! -x "$BUNDLE/photomgr" ]]; then
    echo "install-desktop: no bundle at $BUNDLE (build it first: make package)" >&2
    exit 2
fi
if [[ -e "$BIN_DIR/photomgr" && ! -L "$BIN_DIR/photomgr" ]]; then
    echo "install-desktop: $BIN_DIR/photomgr exists and is not our launcher; remove it first" >&2
    exit 2
fi
if [[ -f "$MANIFEST" ]]; then  # a reinstall replaces the previous install cleanly
    "$REPO/packaging/uninstall-desktop.sh"
fi

NEW_DIRS=()
make_dir() {  # mkdir -p that remembers each folder it creates, parents first
    local dir="$1" missing=()
    while [[ ! -d "$dir" ]]; do missing=("$dir" "${missing[@]}"); dir="$(dirname "$dir")"; done
    mkdir -p "$1"
    NEW_DIRS+=("${missing[@]}")
}
make_dir "$PREFIX"
: > "$MANIFEST.tmp"
record() { printf '%s\n' "$1" >> "$MANIFEST.tmp"; }

# The bundle: copied to a temporary name first, so an interrupted copy never looks installed.
rm -rf "$PREFIX/bundle.partial"
cp -a "$BUNDLE" "$PREFIX/bundle.partial"
mv "$PREFIX/bundle.partial" "$PREFIX/bundle"
record "$PREFIX/bundle"
EXE="$PREFIX/bundle/photomgr"

make_dir "$BIN_DIR"
ln -sfn "$EXE" "$BIN_DIR/photomgr"
record "$BIN_DIR/photomgr"

# The desktop entry runs the bundle by its absolute path: ~/.local/bin is not on every
# desktop session's PATH.
make_dir "$DATA/applications"
sed -e "s|^Exec=.*|Exec=$EXE|" -e "s|^TryExec=.*|TryExec=$EXE|" \
    "$RES/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
record "$DATA/applications/$APP_ID.desktop"

for png in "$RES"/icons/photomgr-*.png; do
    size="$(basename "$png" .png)"; size="${size#photomgr-}"
    dir="$DATA/icons/hicolor/${size}x${size}/apps"
    make_dir "$dir"
    cp "$png" "$dir/$APP_ID.png"
    record "$dir/$APP_ID.png"
done
make_dir "$DATA/icons/hicolor/scalable/apps"
cp "$RES/icons/photomgr.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
record "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"

make_dir "$DATA/metainfo"
cp "$RES/$APP_ID.metainfo.xml" "$DATA/metainfo/$APP_ID.metainfo.xml"
record "$DATA/metainfo/$APP_ID.metainfo.xml"

for dir in "${NEW_DIRS[@]}"; do record "$dir/"; done
mv "$MANIFEST.tmp" "$MANIFEST"
# No update-desktop-database / gtk-update-icon-cache: they write cache files no manifest owns,
# and desktops watch these folders and pick the entry up on their own.


echo "installed photomgr: $EXE"
echo "  menu entry: $DATA/applications/$APP_ID.desktop"
echo "  command:    $BIN_DIR/photomgr$(case ":$PATH:" in *":$BIN_DIR:"*) ;; *) echo " (add $BIN_DIR to PATH)";; esac)"
echo "  uninstall:  $REPO/packaging/uninstall-desktop.sh"
