"""`photomgr index PATH...`: scan folders into the library and embed new photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from photomgr.cli.common import CliError, open_library, print_json
from photomgr.cli.progress import ProgressBar
from photomgr.core.library.settings import Settings
from photomgr.core.scanning.scanner import ScanProgress
from photomgr.core.services.indexing import IndexResult, index_folders
from photomgr.core.services.model_choice import LazyEmbedder, ModelChoice

PHASES = {"walking": "Finding photos", "analysing": "Indexing", "embedding": "Embedding"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("index", help="scan folders for photos, add them to the library, embed them")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="folders (or files) to scan")
    p.add_argument("--no-embed", action="store_true",
                   help="only record photos and thumbnails; embed later")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    roots: list[Path] = []
    for path in args.paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
        roots.append(path.expanduser().resolve())
    with open_library(args) as library:
        model = None
        if not args.no_embed:
            model = LazyEmbedder(ModelChoice.read(Settings(library.conn)),
                                 cache_dir=library.paths.cache_dir)
        bars: dict[str, ProgressBar] = {}

        def on_progress(p: ScanProgress) -> None:
            if p.phase not in bars:
                for bar in bars.values():
                    bar.close()
                bars[p.phase] = ProgressBar(PHASES.get(p.phase, p.phase))
            bars[p.phase].update(p.done, p.total, p.path)

        try:
            result = index_folders(library, roots, model=model, progress=on_progress)
        finally:
            for bar in bars.values():
                bar.close()
        warning = model.warning if model is not None else None
        if warning:
            print(f"photomgr: warning: {warning}", file=sys.stderr)
    if args.json:
        out = result.as_json()
        out["warning"] = warning
        print_json(out)
    else:
        _print_summary(result)
    return 0


def _print_summary(result: IndexResult) -> None:
    report = result.scan
    for err in report.errors:
        print(f"error: {err.path}: {err.error}", file=sys.stderr)
    print(
        f"{report.photos} photos: {report.new} new, {report.unchanged} unchanged, "
        f"{report.updated} updated, {report.moved} moved, {report.missing} missing, "
        f"{len(report.errors)} errors ({result.seconds:.1f} s)"
        + (f"; {len(report.skipped)} other files are not photos" if report.skipped else "")
    )
    if result.model_id:
        rate = f", model {result.embed.model_rate:.1f} photos/s" if result.embed.embedded else ""
        print(f"embedded {result.embed.embedded} photos with {result.model_id}{rate}"
              + (f"; {result.pending} still pending" if result.pending else ""))
