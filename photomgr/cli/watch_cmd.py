"""`photomgr watch`: keep the library in step with its folders until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from photomgr.cli.common import CliError, open_library
from photomgr.core.library.photos import PhotoStore

if TYPE_CHECKING:  # loaded when `watch` runs, not by every command (cli/main.py builds all parsers)
    from photomgr.core.services.watch import WatchScan
    from photomgr.core.watching import FolderWatcher


def add_parser(sub: Any) -> None:
    p = sub.add_parser("watch", help="watch the library's folders and index changes as they happen "
                                     "(until Ctrl-C)")
    p.add_argument("--no-embed", action="store_true", help="only record photos; embed later")
    p.add_argument("--json", action="store_true", help="print one JSON line per scan")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from photomgr.core.services.indexing import library_model
    from photomgr.core.services.watch import watch_library

    with open_library(args) as library:
        roots = PhotoStore(library.conn).roots()
        if not roots:
            raise CliError("the library has no folders yet: add one with `photomgr index PATH`")
        model = None
        if not args.no_embed:
            model = library_model(library)

        def started(watcher: FolderWatcher) -> None:
            for problem in watcher.problems:
                print(f"photomgr: warning: {problem}", file=sys.stderr)
            if not args.json:
                print(f"watching {len(roots)} folder(s) under {', '.join(roots)}; Ctrl-C to stop",
                      flush=True)

        def scanned(scan: WatchScan) -> None:
            if args.json:
                out = scan.result.as_json()
                out["roots"] = [str(r) for r in scan.roots]
                out["sidecars_written"] = len(scan.sidecars.written) if scan.sidecars else None
                print(json.dumps(out, ensure_ascii=False), flush=True)
                return
            r = scan.result.scan
            what = "caught up" if scan.first else "changes"
            print(f"{what}: {r.new} new, {r.updated} updated, {r.moved} moved, {r.missing} missing; "
                  f"embedded {scan.result.embed.embedded}"
                  + (f"; {len(scan.sidecars.written)} sidecars written" if scan.sidecars else ""),
                  flush=True)

        stop = threading.Event()
        try:
            watch_library(library, model=model, stop=stop, on_scan=scanned, on_start=started)
        except KeyboardInterrupt:  # the way to stop watching: not an error
            stop.set()
            print("photomgr: stopped watching; finished work is saved", file=sys.stderr)
    return 0
