"""`photomgr describe PATH...`: each photo's description (written by the model, or by you).

Missing descriptions are generated on the spot; only then is a model loaded (with its
captioner). `--set` writes the user's own description, which no model ever overwrites;
`--clear` removes it (the model's shows again). `--on` / `--off` is the library's setting for
indexing: with descriptions off, `index` writes none (and runs no captioner).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photomgr.cli.common import CliError, open_library, print_json
from photomgr.core.fspaths import display_path
from photomgr.core.library.descriptions import Description
from photomgr.core.library.photos import PhotoRow, PhotoStore
from photomgr.core.library.settings import Settings
from photomgr.core.ops.library_ops import LibraryOps

if TYPE_CHECKING:
    from photomgr.core.library.database import Library
    from photomgr.core.models.base import Embedder


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "describe", help="a sentence per photo saying what it shows (generated when missing)",
        description="Print each photo's description, generating the missing ones with the model's "
                    "captioner. --set writes your own (never overwritten by a model), --clear "
                    "removes it; --on/--off turns descriptions on or off for indexing.")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="photos in the library")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--set", metavar="TEXT", help="your own description of the photo(s)")
    what.add_argument("--clear", action="store_true",
                      help="remove your description (the model's shows again)")
    what.add_argument("--on", action="store_true", help="indexing writes descriptions (default)")
    what.add_argument("--off", action="store_true",
                      help="indexing writes no descriptions (faster; yours stay)")
    p.add_argument("--json", action="store_true",
                   help='a list of {"path", "description", "source": "model"|"user", "model"}')
    p.set_defaults(run=run)


def _row(path: str, d: Description | None) -> dict[str, str | None]:
    if d is None:
        return {"path": path, "description": "", "source": None, "model": None}
    return {"path": path, **d.as_json()}


def _photos(store: PhotoStore, paths: list[Path]) -> list[PhotoRow]:
    rows = []
    for path in paths:
        row = store.find(path)
        if row is None:
            raise CliError(f"{path}: not in the library (run `photomgr index` on its folder)")
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    if (args.on or args.off) and args.paths:
        raise CliError("--on and --off change the library's setting: give them without a PATH")
    if (args.set is not None or args.clear) and not args.paths:  # not the status, silently
        raise CliError(f"{'--clear' if args.clear else '--set'} changes photos: give their PATHs")
    # Printing descriptions (and the status) only reads, so it works on a read-only library
    # too, unless one is missing and has to be written.
    args.read_only_command = args.set is None and not (args.clear or args.on or args.off)
    args.existing_library_only = args.read_only_command  # showing creates no library
    if not (args.on or args.off) and not args.paths:
        return _status(args)
    with open_library(args) as library:
        ops = LibraryOps(library)
        if args.on or args.off:
            on = ops.descriptions.set_enabled(bool(args.on)).value
            if args.json:
                print_json({"enabled": on})
            else:
                print(f"descriptions are {'on' if on else 'off'} for indexing")
            return 0
        photos = _photos(PhotoStore(library.conn), args.paths)
        ids = [p.id for p in photos]
        if args.set is not None or args.clear:
            if args.set is not None and not args.set.strip():
                raise CliError("--set needs some text (--clear removes your description)")
            for photo in photos:
                ops.descriptions.set_user(photo.id, None if args.clear else args.set)
        else:
            for photo in photos:
                if photo.error:
                    raise CliError(f"{photo.path}: could not be read when indexed ({photo.error}); "
                                   "it has no description")
            if ops.descriptions.missing(ids):
                ops.descriptions.generate(ids, _describer(library))
        shown = ops.descriptions.of(ids)
    for photo in photos:
        if photo.id not in shown and args.set is None and not args.clear:
            print(f"photomgr: warning: {display_path(photo.path)}: could not be read, so it has no "
                  "description", file=sys.stderr)
    rows = [_row(p.path, shown.get(p.id)) for p in photos]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            mark = " (yours)" if r["source"] == "user" else ""
            print(f"{display_path(str(r['path']))}: {r['description'] or '(no description)'}{mark}")
    return 0


def _describer(library: Library) -> Embedder:
    """The active model (or, before anything is embedded, the chosen one) with its captioner."""
    from photomgr.core.services.model_choice import (
        ModelChoice,
        active_model_id,
        load_chosen,
        load_for_model_id,
    )

    settings = Settings(library.conn)
    choice = ModelChoice.read(settings)
    model_id = active_model_id(settings)
    if model_id is None:
        return load_chosen(choice, cache_dir=library.paths.cache_dir, describe=True).embedder
    return load_for_model_id(model_id, choice, cache_dir=library.paths.cache_dir, describe=True)


def _status(args: argparse.Namespace) -> int:
    """No PATH: whether descriptions are on, how many photos have one, and the captioner."""
    from photomgr.core.library import descriptions
    from photomgr.core.models.captioning import captioner_available
    from photomgr.core.ops.describing import descriptions_enabled
    from photomgr.core.services.model_choice import ModelChoice, active_model_id

    with open_library(args) as library:
        settings = Settings(library.conn)
        on = descriptions_enabled(settings)
        described, by_user = descriptions.count(library.conn)
        photos = PhotoStore(library.conn).count_present()
        model = active_model_id(settings) or ModelChoice.read(settings).backend
    usable, message = captioner_available(model)
    out = {"enabled": on, "photos": photos, "described": described, "by_user": by_user,
           "captioner_available": usable, "captioner": message}
    if args.json:
        print_json(out)
    else:
        print(f"descriptions are {'on' if on else 'off'} for indexing; {described:,} of {photos:,} "
              f"photos have one ({by_user:,} written by you)")
        print(f"captioner: {message}" if usable else f"captioner unavailable: {message}")
    return 0
