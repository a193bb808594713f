"""`photomgr tags PATH` / `photomgr tags --all` and `photomgr tag PATH LABEL --confirm|--reject`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from photomgr.cli.common import CliError, print_json
from photomgr.cli.context import CliContext
from photomgr.core.fspaths import display_path
from photomgr.core.library.descriptions import Description
from photomgr.core.library.labels import CONFIRMED, REJECTED, NoSuchLabel
from photomgr.core.services.tagging import TagInfo


def add_parser(sub: Any) -> None:
    p = sub.add_parser("tags", help="a photo's tags with scores and its description (or --all photos)")
    p.add_argument("path", nargs="?", type=Path)
    p.add_argument("--all", action="store_true", help="every photo, every label's score")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_tags)

    p = sub.add_parser("tag", help="confirm or reject a tag on a photo (or add it by hand)")
    p.add_argument("path", type=Path)
    p.add_argument("label")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--confirm", action="store_true", help="the photo has this label")
    what.add_argument("--reject", action="store_true", help="the photo does not have this label")
    what.add_argument("--clear", action="store_true", help="forget the decision; the score decides")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_tag)


def _print_tags(tags: list[TagInfo]) -> None:
    shown = [t for t in tags if t.state != "untagged"]
    if not shown:
        print("  (no tags)")
    for t in shown:
        print(f"  {t.label:<30} {t.score:.3f}  {t.state} ({t.source})")


def run_tags(args: argparse.Namespace) -> int:
    if args.all == (args.path is not None):
        raise CliError("give either a PATH or --all")
    with CliContext(args) as ctx:
        if args.all:
            rows = ctx.engine.all_tags()
            paths = ctx.photos.paths_by_id([pid for pid, _ in rows])
            if args.json:
                texts = ctx.ops.descriptions.of([pid for pid, _ in rows])
                print_json([{"path": paths[pid], "description": _text(texts.get(pid)),
                             "tags": [t.as_json() for t in tags]} for pid, tags in rows])
            else:
                for pid, tags in rows:
                    names = ", ".join(t.label for t in tags if t.applies)
                    print(f"{display_path(paths[pid])}: {names}")
            return 0
        photo = ctx.photo(args.path)
        tags = ctx.ops.tags.tags_for_photo(photo.id)
        description = ctx.ops.descriptions.one(photo.id)
    if args.json:
        print_json({"path": photo.path, "description": _text(description),
                    "tags": [t.as_json() for t in tags], "error": photo.error, "missing": photo.missing})
    else:
        print(display_path(photo.path))
        # Why a photo has no scores, or is not on disk: else "(no tags)" reads as "nothing in it".
        if photo.error:
            print(f"  could not be read when indexed: {photo.error}")
        if photo.missing:
            print("  missing: not found where it was at the last index (its tags are kept)")
        if description is not None and description.text:
            print(f"  “{description.text}”")
        _print_tags(tags)
    return 0


def _text(description: Description | None) -> str | None:
    """A photo's description in JSON: its text, or null when it has none (yet)."""
    return description.text if description is not None else None


def run_tag(args: argparse.Namespace) -> int:
    with CliContext(args) as ctx:
        photo = ctx.photo(args.path)
        try:
            label = ctx.ops.tags.labels.by_name(args.label)
        except NoSuchLabel as exc:
            raise CliError(str(exc)) from exc
        state = None if args.clear else (CONFIRMED if args.confirm else REJECTED)
        ctx.ops.tags.decide([photo.id], label.id, state)
        after = next(t for t in ctx.ops.tags.tags_for_photo(photo.id) if t.label_id == label.id)
    if args.json:
        print_json(after.as_json())
    else:
        print(f"{display_path(photo.path)}: {after.label} {after.state} ({after.source})")
    return 0
