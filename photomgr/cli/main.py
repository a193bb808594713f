"""`photomgr` command line: a thin layer over photomgr.core.

Exit status (also in the README): 0 done; 2 a bad argument or an unusable library (the message
says which and what to do); 3 another photomgr process holds the library and --no-wait was
given (or waiting gave up); 4 the model (or its captioner) cannot be loaded; 130 interrupted (finished work is
saved); 141 stdout was closed before the output was written (`photomgr tags --all | head`).
Expected failures print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from photomgr import __version__
from photomgr.cli import (
    describe_cmd,
    index_cmd,
    labels_cmd,
    model_cmd,
    search_cmd,
    tags_cmd,
    watch_cmd,
    xmp_cmd,
)
from photomgr.cli.common import CliError
from photomgr.core.library.errors import LibraryBusy, LibraryError
from photomgr.core.library.transaction import translate

COMMANDS = (index_cmd, model_cmd, labels_cmd, tags_cmd, describe_cmd, search_cmd, xmp_cmd, watch_cmd)

EXIT_OK = 0
EXIT_USAGE = 2  # also an unusable library: the message says which
EXIT_BUSY = 3
EXIT_MODEL = 4
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a filter cut short

# Commands that only read: they work on a library the user may not write (read-only folder).
READ_ONLY = {("labels", "list"), ("tags", None), ("similar", None), ("search", None),
             ("duplicates", None), ("model", None)}
# Commands that only show what a library holds: where there is no library they say so rather
# than create one (a mistyped --library, or the photos folder given as the library, got a
# library.db and its folders among the photos).
SHOW_CONTENT = READ_ONLY - {("model", None)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photomgr",
        description="A local, offline photo manager that tags photos with labels you define. "
                    "Run without a command to open the window.",
        epilog="Exit status: 0 done, 2 bad argument or unusable library, 3 library busy "
               "(--no-wait), 4 model unavailable, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"photomgr {__version__}")
    parser.add_argument("--library", type=Path, metavar="DIR",
                        help="library folder (default: $PHOTOMGR_LIBRARY or the user data folder)")
    parser.add_argument("--no-wait", action="store_true",
                        help="fail at once (exit 3) instead of waiting while another photomgr "
                             "process writes to or indexes the library")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _output_closed() -> int:
    """The reader of stdout went away (`| head`, `| grep -q`): stop quietly, as a filter does,
    instead of a BrokenPipeError traceback."""
    try:  # the interpreter flushes stdout once more on exit: let that go nowhere, not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's capture)
        pass
    return EXIT_OUTPUT_CLOSED


def _error(message: object, code: int) -> int:
    print(f"photomgr: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from photomgr.gui.platform_check import launch_problem  # Qt-free

        if problem := launch_problem():  # before PySide6 loads: a missing library fails its import
            print(problem, file=sys.stderr)
            return 1
        from photomgr.gui.app import run_gui  # imported here: the CLI never needs Qt

        return run_gui(args.library)
    sub_action = getattr(args, f"{args.command}_command", None)  # `labels list`, `model use`...
    args.read_only_command = (args.command, sub_action) in READ_ONLY
    args.existing_library_only = (args.command, sub_action) in SHOW_CONTENT
    from photomgr.core.models.base import ModelUnavailable
    from photomgr.core.ops.describing import DescriberUnavailable

    try:
        code = int(args.run(args))
        sys.stdout.flush()  # a reader that went away shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _output_closed()
    except LibraryBusy as exc:
        return _error(exc, EXIT_BUSY)
    except (CliError, LibraryError) as exc:
        return _error(exc, EXIT_USAGE)
    except (ModelUnavailable, DescriberUnavailable) as exc:
        return _error(exc, EXIT_MODEL)
    except sqlite3.Error as exc:  # a library fault met outside a write transaction
        translated = translate(exc)
        if translated is None:
            raise
        return _error(translated, EXIT_USAGE)
    except KeyboardInterrupt:
        print("photomgr: interrupted; finished work is saved", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
