"""`photomgr` command line: a thin layer over photomgr.core."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from photomgr import __version__
from photomgr.cli import index_cmd, labels_cmd, model_cmd, search_cmd, tags_cmd
from photomgr.cli.common import CliError
from photomgr.core.library.errors import LibraryError

COMMANDS = (index_cmd, model_cmd, labels_cmd, tags_cmd, search_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photomgr",
        description="A local, offline photo manager that tags photos with labels you define. "
                    "Run without a command to open the window.",
    )
    parser.add_argument("--version", action="version", version=f"photomgr {__version__}")
    parser.add_argument("--library", type=Path, metavar="DIR",
                        help="library folder (default: $PHOTOMGR_LIBRARY or the user data folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from photomgr.gui.app import run_gui  # imported here: the CLI never needs Qt

        return run_gui(args.library)
    try:
        return int(args.run(args))
    except (CliError, LibraryError) as exc:
        print(f"photomgr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photomgr: interrupted; finished work is saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
