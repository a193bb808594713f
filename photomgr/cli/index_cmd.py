"""`photomgr index PATH...`: scan folders into the library and embed new photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photomgr.cli.common import CliError, open_library, print_json
from photomgr.cli.progress import ProgressBar
from photomgr.core.fspaths import display_path
from photomgr.core.imaging.errors import TRANSIENT
from photomgr.core.services.priority import lower_priority

if TYPE_CHECKING:  # the scanner and the indexing service (FAISS, XMP) load when `index` runs:
    # every other command builds this parser too (cli/main.py)
    from photomgr.core.scanning.scanner import ScanProgress, ScanReport
    from photomgr.core.services.indexing import IndexResult

PHASES = {"walking": "Finding photos", "analysing": "Indexing", "embedding": "Embedding",
          "describing": "Describing"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("index", help="scan folders for photos, add them to the library, embed them")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="folders (or files) to scan")
    p.add_argument("--no-embed", action="store_true",
                   help="only record photos and thumbnails; embed later")
    p.add_argument("--retry-errors", action="store_true",
                   help="analyse again every file that holds an error, not only the transient ones")
    p.add_argument("--priority", choices=("low", "normal"), default="low",
                   help="CPU priority of the index (default low: other photomgr commands and the GUI "
                        "stay responsive while it runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from photomgr.core.services.indexing import index_folders, library_model

    roots: list[Path] = []
    for path in args.paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
        roots.append(path.expanduser().resolve())
    if args.priority == "low":
        lower_priority()  # before any worker thread starts: they inherit it
    with open_library(args) as library:
        model = None
        if not args.no_embed:
            model = library_model(library)
        bars: dict[str, ProgressBar] = {}

        def on_progress(p: ScanProgress) -> None:
            if p.phase not in bars:
                for bar in bars.values():
                    bar.close()
                bars[p.phase] = ProgressBar(PHASES.get(p.phase, p.phase))
            bars[p.phase].update(p.done, p.total, display_path(p.path) if p.path else p.path)

        try:
            result = index_folders(library, roots, model=model, progress=on_progress,
                                   retry_errors=args.retry_errors)
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
        kind = " (transient: retried on the next run)" if err.kind == TRANSIENT else ""
        print(f"error: {display_path(err.path)}: {err.error}{kind}", file=sys.stderr)
    print(
        f"{report.photos} photos: {report.new} new, {report.unchanged} unchanged, "
        f"{report.updated} updated, {report.moved} moved, {report.missing} missing, "
        f"{len(report.errors)} errors ({result.seconds:.1f} s)"
        + _skipped_text(report)
    )
    if report.retried:
        print(f"retried {report.retried} files that held an error")
    if report.held_errors:
        print(_held_errors_line(report))
    if result.model_id:
        rate = f", model {result.embed.model_rate:.1f} photos/s" if result.embed.embedded else ""
        print(f"embedded {result.embed.embedded} photos with {result.model_id}{rate}"
              + (f"; {result.pending} still pending" if result.pending else ""))
        if result.embed.described:
            print(f"described {result.embed.described} photos")
    if result.describe_problem:
        print(f"photomgr: warning: no descriptions were written: {result.describe_problem} "
              "(`photomgr describe --off` turns them off)", file=sys.stderr)


def _skipped_text(report: ScanReport) -> str:
    """The files that are not photos, XMP sidecars apart: they belong next to photos (`xmp
    write` makes one per photo), so "12 other files are not photos" after it read like a fault."""
    sidecars = sum(1 for e in report.skipped if e.path.lower().endswith(".xmp"))
    others = len(report.skipped) - sidecars
    if not others:
        return ""
    return "; 1 other file is not a photo" if others == 1 else f"; {others} other files are not photos"


def _held_errors_line(report: ScanReport) -> str:
    """What the library holds, not only what this run met: a re-run that meets no new error
    must not read as "all is well" while hundreds of photos still cannot be shown."""
    held = report.held_errors
    transient = sum(1 for e in held if e.kind == TRANSIENT)
    parts = [f"{len(held) - transient} permanent"]
    if transient:
        parts.append(f"{transient} transient (retried on every run)")
    return (f"{len(held)} photos in these folders hold an error: {', '.join(parts)}; "
            "`photomgr index --retry-errors PATH` tries them all again, "
            "`--json` lists them")
