#!/usr/bin/env bash
# Build the one-folder bundle: dist/photomgr/photomgr (run by `make package`).
# Needs the project's virtual environment with the `package` extra (`pip install -e '.[package]'`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
start=$(date +%s)
# nice: the build is CPU-heavy for minutes and should not starve an open desktop.
PYTHONPATH="$PWD" nice -n 10 "$PY" -m PyInstaller --noconfirm \
    --distpath dist --workpath build/pyinstaller packaging/photomgr.spec
end=$(date +%s)
echo "build time: $((end - start)) s"
echo "bundle size: $(du -sh dist/photomgr | cut -f1) (dist/photomgr); size report: build/package-sizes.json"
