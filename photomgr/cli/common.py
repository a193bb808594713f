"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from photomgr.core.library.database import Library
from photomgr.core.library.paths import default_library_dir


class CliError(Exception):
    """A bad argument: printed as a one-line error, exit status 2."""


def open_library(args: argparse.Namespace) -> Library:
    root: Path = args.library if args.library is not None else default_library_dir()
    return Library(root)


def print_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
