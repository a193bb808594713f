"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from photomgr.core.library.database import Library
from photomgr.core.library.errors import LibraryError, LibraryReadOnly
from photomgr.core.library.paths import LibraryPaths, default_library_dir
from photomgr.core.library.transaction import WaitPolicy


class CliError(Exception):
    """A bad argument: printed as a one-line error, exit status 2."""


def _say_waiting(why: str) -> None:
    print(f"photomgr: {why} (Ctrl-C to stop, --no-wait to fail at once)", file=sys.stderr, flush=True)


def wait_policy(args: argparse.Namespace) -> WaitPolicy:
    return WaitPolicy(wait=not getattr(args, "no_wait", False), on_wait=_say_waiting)


def library_root(args: argparse.Namespace) -> Path:
    return args.library if args.library is not None else default_library_dir()


def open_library(args: argparse.Namespace) -> Library:
    """The library the command works on. Commands that only read (main.READ_ONLY) still work on
    a library the user cannot write to: they fall back to a read-only connection. Those that
    only show its content (main.SHOW_CONTENT) never create one."""
    policy = wait_policy(args)
    root = library_root(args)
    exists = LibraryPaths(root.expanduser()).database.exists()
    if getattr(args, "existing_library_only", False) and not exists:
        hint = (" (--library names the library's own folder, not a photos folder)"
                if args.library is not None else "")
        raise LibraryError(f"there is no library at {root} yet: run `photomgr index PATH` first{hint}")
    try:
        return Library(root, wait=policy)
    except LibraryReadOnly:
        if not getattr(args, "read_only_command", False):
            raise
        return Library(root, readonly=True, wait=policy)


def print_json(value: object) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # A file name that is not UTF-8 holds lone surrogates (PEP 383), which cannot be written as
    # UTF-8: they become JSON's own \udcXX escapes, still valid JSON, and json.loads gives back
    # the exact name (os.fsencode turns it into the original bytes).
    sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    sys.stdout.write("\n")
