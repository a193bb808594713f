"""`photomgr similar PATH`, `photomgr search TEXT`, `photomgr duplicates`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from photomgr.cli.common import CliError, print_json
from photomgr.cli.context import CliContext
from photomgr.core.fspaths import display_path
from photomgr.core.ops.results import Hit
from photomgr.core.search.duplicate_threshold import DUPLICATE_THRESHOLD as DEFAULT_DUPLICATE_THRESHOLD


def add_parser(sub: Any) -> None:
    p = sub.add_parser("similar", help="photos that look like this one")
    p.add_argument("path", type=Path)
    p.add_argument("-k", type=int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_similar)

    p = sub.add_parser("search", help="search photos by meaning and by the words of their descriptions, "
                                      "file names and folders, e.g. 'dog in water' (T: the words matched)")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=20, help="how many (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_search)

    p = sub.add_parser("duplicates", help="groups of identical and near-identical photos")
    p.add_argument("--threshold", type=float, default=DEFAULT_DUPLICATE_THRESHOLD,
                   help=f"similarity for near-duplicates (default {DEFAULT_DUPLICATE_THRESHOLD})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_duplicates)


def _emit(args: argparse.Namespace, hits: list[Hit], *, text: bool = False) -> None:
    """Print hits; `text`: a search's, each saying whether its words were found in the photo's
    description, file name or folder (JSON "text_match"; a "T" column in the plain listing)."""
    rows: list[dict[str, object]] = [{"path": h.path, "score": round(h.score, 4)} for h in hits]
    if text:
        for row, h in zip(rows, hits, strict=True):
            row["text_match"] = h.text_match
    if args.json:
        print_json(rows)
    elif not rows:  # a bare exit 0 read as "nothing happened"
        print("(no other photos to compare with: the library has no other embedded photos)" if not text
              else "(no photos to search: the library has no embedded photos)")
    else:
        for r in rows:
            mark = ("T " if r["text_match"] else "  ") if text else ""
            print(f"{r['score']:.3f}  {mark}{display_path(str(r['path']))}")


def _check_k(k: int) -> None:
    if k < 1:
        raise CliError("-k must be at least 1")


def run_similar(args: argparse.Namespace) -> int:
    _check_k(args.k)
    with CliContext(args) as ctx:
        photo = ctx.photo(args.path)
        hits = ctx.ops.search.similar(ctx.engine, photo.id, args.k)
    _emit(args, hits)
    return 0


def run_search(args: argparse.Namespace) -> int:
    _check_k(args.k)
    if not args.text.strip():
        raise CliError("search text is empty")
    with CliContext(args) as ctx:
        hits = ctx.ops.search.text_hits(ctx.engine, ctx.encoder(), args.text, args.k)
    _emit(args, hits, text=True)
    return 0


def run_duplicates(args: argparse.Namespace) -> int:
    from photomgr.core.services.near_copies import library_duplicates  # pixels, hashes: this command's

    if not 0.0 < args.threshold <= 1.0:
        raise CliError("--threshold must be in (0, 1]")
    with CliContext(args) as ctx:
        matrix = ctx.engine.matrix()
        groups = library_duplicates(ctx.library.conn, ctx.library.paths.thumbnails, matrix.ids,
                                    matrix.image, ctx.ops.search.index(ctx.model_id), args.threshold)
        paths = ctx.photos.paths_by_id([pid for g in groups for pid in g])
        out = [[paths[pid] for pid in g] for g in groups]
    if args.json:
        print_json(out)
    else:
        for g in out:
            print("\n".join(display_path(p) for p in g) + "\n")
        print(f"{len(out)} groups")
    return 0
