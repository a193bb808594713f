"""`photomgr labels ...`: the user's own labels."""

from __future__ import annotations

import argparse
import time
from typing import Any

from photomgr.cli.common import CliError, print_json
from photomgr.cli.context import CliContext
from photomgr.core.library.labels import Label, LabelExists, NoSuchLabel
from photomgr.core.ops.results import LabelSummary
from photomgr.core.ops.tagging import NewLabel


def add_parser(sub: Any) -> None:
    p = sub.add_parser("labels", help="list, add, rename, edit or remove labels")
    lsub = p.add_subparsers(dest="labels_command", metavar="ACTION", required=True)

    q = lsub.add_parser("list", help="every label with its photo count")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_list)

    q = lsub.add_parser("add", help="add labels; every photo is scored at once")
    q.add_argument("name", nargs="+", help="one or more label names, e.g. beach dog \"my car\"")
    q.add_argument("--prompt", action="append", default=None, metavar="P",
                   help="text to match instead of the name (repeatable; one label only), "
                        "e.g. 'a photo of my dog Rex'")
    q.add_argument("--threshold", type=float, help="score a photo needs to get the tag (0..1)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_add)

    q = lsub.add_parser("rename", help="rename a label; confirmations and rejections are kept")
    q.add_argument("old")
    q.add_argument("new")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_rename)

    q = lsub.add_parser("edit", help="change a label's prompts or threshold")
    q.add_argument("name")
    q.add_argument("--prompt", action="append", default=None, metavar="P")
    q.add_argument("--threshold", type=float)
    q.add_argument("--default-threshold", action="store_true", help="use the model's calibrated default")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_edit)

    q = lsub.add_parser("remove", help="delete a label (photos are untouched)")
    q.add_argument("name")
    q.add_argument("--json", action="store_true")
    q.set_defaults(run=run_remove)


def _summary_info(summary: LabelSummary) -> dict[str, object]:
    return {"name": summary.name, "prompts": list(summary.prompts),
            "threshold": round(summary.threshold, 4),
            "custom_threshold": summary.custom_threshold, "photos": summary.photos}


def _describe(ctx: CliContext, label: Label) -> dict[str, object]:
    ctx.engine.text_vector(label)  # may load the text model: not part of the re-scoring time
    ctx.engine.matrix()
    started = time.perf_counter()
    summary = ctx.ops.tags.summary(label)
    return {**_summary_info(summary), "rescore_ms": round((time.perf_counter() - started) * 1000, 1)}


def _label(ctx: CliContext, name: str) -> Label:
    try:
        return ctx.ops.tags.labels.by_name(name)
    except NoSuchLabel as exc:
        raise CliError(str(exc)) from exc


def _check_threshold(value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise CliError("--threshold must be between 0 and 1")


def _emit(args: argparse.Namespace, info: dict[str, object], verb: str) -> int:
    if args.json:
        print_json(info)
    else:
        print(f"{verb} label {info['name']!r}: {info['photos']} photos "
              f"(threshold {info['threshold']}, scored in {info['rescore_ms']} ms)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with CliContext(args) as ctx:
        # every count from a few batched products (TagOps.summaries), not one pass per label
        rows = [_summary_info(s) for s in ctx.ops.tags.summaries()] if ctx.ops.tags.labels.all() else []
    if args.json:
        print_json(rows)
    elif not rows:
        print("no labels yet: add one with `photomgr labels add NAME`")
    else:
        for r in rows:
            print(f"{r['name']:<30} {r['photos']:>7} photos  threshold {r['threshold']}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    _check_threshold(args.threshold)
    if len(args.name) > 1 and (args.prompt or args.threshold is not None):
        raise CliError("--prompt and --threshold apply to one label: add it on its own")
    new = [NewLabel(name, tuple(args.prompt or ()), args.threshold) for name in args.name]
    with CliContext(args) as ctx:
        try:
            added = ctx.ops.tags.add_labels(new).value
        except (LabelExists, ValueError) as exc:
            raise CliError(str(exc)) from exc
        infos = [_describe(ctx, label) for label in added]
    if len(infos) == 1:
        return _emit(args, infos[0], "added")
    if args.json:
        print_json(infos)
    else:
        for info in infos:
            _emit(args, info, "added")
    return 0


def run_rename(args: argparse.Namespace) -> int:
    with CliContext(args) as ctx:
        old = _label(ctx, args.old)
        try:
            label = ctx.ops.tags.rename_label(old.id, args.new).value
        except (LabelExists, ValueError) as exc:
            raise CliError(str(exc)) from exc
        info = _describe(ctx, label)
    return _emit(args, info, f"renamed {old.name!r} to")  # was "renamed label 'new'": which one?


def run_edit(args: argparse.Namespace) -> int:
    _check_threshold(args.threshold)
    with CliContext(args) as ctx:
        label = ctx.ops.tags.edit_label(_label(ctx, args.name).id, prompts=args.prompt,
                                        threshold=args.threshold,
                                        clear_threshold=args.default_threshold).value
        info = _describe(ctx, label)
    return _emit(args, info, "edited")


def run_remove(args: argparse.Namespace) -> int:
    with CliContext(args) as ctx:
        result = ctx.ops.tags.remove_label(_label(ctx, args.name).id)
        label, decided = result.value, len(result.changes.photos)
    if args.json:
        print_json({"removed": label.name})
    else:  # the decisions go with the label: say so, the command line has no undo
        print(f"removed label {label.name!r}"
              + (f" and its confirmations and rejections on {decided} photos" if decided else ""))
    return 0
