"""`photomgr similar PATH`, `photomgr search TEXT`, `photomgr duplicates`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from photomgr.cli.common import CliError, print_json
from photomgr.cli.context import CliContext
from photomgr.core.search.duplicates import duplicate_groups
from photomgr.core.search.similar import find_similar, text_search

DEFAULT_DUPLICATE_THRESHOLD = 0.95


def add_parser(sub: Any) -> None:
    p = sub.add_parser("similar", help="photos that look like this one")
    p.add_argument("path", type=Path)
    p.add_argument("-k", type=int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_similar)

    p = sub.add_parser("search", help="search photos by meaning, e.g. 'dog on a beach'")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=20, help="how many (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_search)

    p = sub.add_parser("duplicates", help="groups of identical and near-identical photos")
    p.add_argument("--threshold", type=float, default=DEFAULT_DUPLICATE_THRESHOLD,
                   help=f"similarity for near-duplicates (default {DEFAULT_DUPLICATE_THRESHOLD})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_duplicates)


def _emit(args: argparse.Namespace, ctx: CliContext, hits: list[tuple[int, float]]) -> None:
    paths = ctx.photos.paths_by_id([pid for pid, _ in hits])
    rows = [{"path": paths[pid], "score": round(float(score), 4)} for pid, score in hits if pid in paths]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['score']:.3f}  {r['path']}")


def _check_k(k: int) -> None:
    if k < 1:
        raise CliError("-k must be at least 1")


def run_similar(args: argparse.Namespace) -> int:
    _check_k(args.k)
    with CliContext(args) as ctx:
        photo = ctx.photo(args.path)
        got = ctx.engine.vectors.get(photo.id, ctx.model_id)
        if got is None:
            raise CliError(f"{args.path}: has no vector yet (run `photomgr index` on its folder)")
        hits = find_similar(ctx.index(), photo.id, got[0], args.k, copies=ctx.copy_check())
        _emit(args, ctx, hits)
    return 0


def run_search(args: argparse.Namespace) -> int:
    _check_k(args.k)
    if not args.text.strip():
        raise CliError("search text is empty")
    with CliContext(args) as ctx:
        query = ctx.encoder().embed_query(args.text)
        hits = text_search(ctx.engine.matrix(), query, args.k, ctx.engine.scorer)
        _emit(args, ctx, hits)
    return 0


def run_duplicates(args: argparse.Namespace) -> int:
    if not 0.0 < args.threshold <= 1.0:
        raise CliError("--threshold must be in (0, 1]")
    with CliContext(args) as ctx:
        matrix = ctx.engine.matrix()
        ids = matrix.ids
        hashes_by_id = dict(ctx.library.conn.execute(
            "SELECT id, content_hash FROM photos WHERE missing = 0 AND error IS NULL"))
        hashes = [hashes_by_id.get(int(i), "") or "" for i in ids]
        groups = duplicate_groups(ids, hashes, matrix.image, args.threshold, ctx.index())
        paths = ctx.photos.paths_by_id([pid for g in groups for pid in g])
        out = [[paths[pid] for pid in g] for g in groups]
    if args.json:
        print_json(out)
    else:
        for g in out:
            print("\n".join(g) + "\n")
        print(f"{len(out)} groups")
    return 0
