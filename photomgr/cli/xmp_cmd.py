"""`photomgr xmp read|write|config [PATH...]`: keywords in and out of XMP sidecars.

`read` imports the keywords of photos already in the library (embedded XMP, IPTC, sidecars)
as labels with those photos confirmed; indexing does the same by itself. `write` merges the
library's tags into sidecars next to the photos (never into an original).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photomgr.cli.common import CliError, open_library, print_json
from photomgr.cli.context import CliContext
from photomgr.core.fspaths import display_path
from photomgr.core.xmp.naming import NAMINGS

if TYPE_CHECKING:  # the XMP readers and writers load when an `xmp` command runs, not with the parser
    from photomgr.core.library.database import Library
    from photomgr.core.ops.interop import InteropOps


def add_parser(sub: Any) -> None:
    p = sub.add_parser("xmp", help="read keywords from XMP/IPTC, or write tags into XMP sidecars")
    xsub = p.add_subparsers(dest="xmp_command", metavar="ACTION", required=True)

    r = xsub.add_parser("read", help="import keywords of photos in the library as confirmed labels")
    r.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="photos or folders (default: the whole library)")
    r.add_argument("--force", action="store_true", help="re-read even what has not changed")
    r.add_argument("--json", action="store_true")
    r.set_defaults(run=run_read)

    w = xsub.add_parser("write", help="write confirmed tags into a sidecar per photo (merged)")
    w.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="photos or folders (default: the whole library)")
    w.add_argument("--auto", action="store_true",
                   help="also write auto tags above threshold, under an 'auto' parent keyword")
    w.add_argument("--naming", choices=NAMINGS,
                   help="ext: IMG_1.jpg.xmp (default), base: IMG_1.xmp (default: the library's setting)")
    w.add_argument("--json", action="store_true")
    w.set_defaults(run=run_write)

    c = xsub.add_parser("config", help="show or change sidecar settings")
    c.add_argument("--naming", choices=NAMINGS, help="which sidecar name `write` uses")
    c.add_argument("--keep-updated", choices=("on", "off"),
                   help="the window writes sidecars after each change of tags")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=run_config)


def _check(paths: list[Path]) -> None:
    for path in paths:
        if not path.expanduser().exists():
            raise CliError(f"{path}: no such file or folder")


def _roots(conn: sqlite3.Connection, paths: list[Path]) -> list[Path] | None:
    """Every form under which the library may store the typed photos and folders: as typed,
    resolved, or under a root the window added through a symbolic link (PhotoStore.find)."""
    if not paths:
        return None
    from photomgr.core.library.photos import PhotoStore

    store = PhotoStore(conn)
    return [form for path in paths for form in store.stored_forms(path, folder=path.expanduser().is_dir())]


def _check_found(paths: list[Path], photos: int) -> None:
    """Typed paths that hold no photo of the library did nothing: say so, as `tags PATH` does,
    instead of a quiet "0 photos" that reads like success."""
    if paths and photos == 0:
        shown = ", ".join(display_path(str(p)) for p in paths)
        raise CliError(f"{shown}: no photos of the library there (run `photomgr index` on the folder)")


def _interop(library: Library) -> InteropOps:
    from photomgr.core.ops.interop import InteropOps

    return InteropOps(library.conn, library.wait)


def run_read(args: argparse.Namespace) -> int:
    _check(args.paths)
    with open_library(args) as library:
        report = _interop(library).import_keywords(_roots(library.conn, args.paths), force=args.force).value
    _check_found(args.paths, report.photos)
    if args.json:
        print_json(report.as_json())
        return 0
    for problem in report.problems:
        print(f"warning: {display_path(problem)}", file=sys.stderr)
    print(f"{report.photos} photos, {report.read} read: {report.with_keywords} with keywords; "
          f"{len(report.labels_added)} labels added, {report.confirmed} tags confirmed from keywords"
          + (f", {report.withdrawn} withdrawn" if report.withdrawn else ""))
    if report.labels_added:
        print("new labels: " + ", ".join(report.labels_added))
    return 0


def run_write(args: argparse.Namespace) -> int:
    _check(args.paths)
    if args.auto:  # auto tags need the active model's vectors (and maybe its text side)
        with CliContext(args) as ctx:
            report = ctx.ops.interop.write_sidecars(_roots(ctx.ops.conn, args.paths), engine=ctx.engine,
                                                    include_auto=True, naming=args.naming).value
    else:
        with open_library(args) as library:
            report = _interop(library).write_sidecars(
                _roots(library.conn, args.paths), naming=args.naming).value
    _check_found(args.paths, report.photos)
    if args.json:
        print_json(report.as_json())
    else:
        for path, error in report.failed:
            print(f"error: {display_path(path)}: {display_path(error)}", file=sys.stderr)
        print(f"{report.photos} photos: {len(report.written)} sidecars written, "
              f"{report.unchanged} unchanged, {len(report.failed)} failed")
    return 1 if report.failed else 0


def run_config(args: argparse.Namespace) -> int:
    args.read_only_command = args.naming is None and args.keep_updated is None  # only shows them
    args.existing_library_only = args.read_only_command  # showing creates no library
    with open_library(args) as library:
        ops = _interop(library)
        if args.naming is not None or args.keep_updated is not None:
            keep = None if args.keep_updated is None else args.keep_updated == "on"
            ops.configure(naming=args.naming, keep_updated=keep)
        out = {"naming": ops.naming(), "keep_updated": ops.keep_updated()}
    if args.json:
        print_json(out)
    else:
        print(f"sidecar naming: {out['naming']}; keep sidecars up to date: "
              f"{'on' if out['keep_updated'] else 'off'}")
    return 0
