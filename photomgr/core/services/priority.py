"""Indexing yields to interactive work: a long index runs at a lower CPU priority.

An index keeps every core busy for minutes to hours (decoding, the image model). Meanwhile the
user adds a label, confirms a tag or searches from another terminal or the GUI: those are short
and someone is waiting for them. With the index process niced, the kernel's scheduler gives
them the CPU first and the index takes what is left, losing almost nothing overall.
"""

from __future__ import annotations

import os

INDEX_NICENESS = 10  # of 19: well below interactive processes, still ahead of `nice -n 19` batch jobs


def lower_priority(niceness: int = INDEX_NICENESS) -> int | None:
    """Make this thread's niceness at least `niceness` (threads it starts later inherit it; an
    already nicer process is left alone, so calling twice changes nothing). The niceness now,
    or None where the platform has no nice() (Windows) or refuses."""
    if not hasattr(os, "nice"):
        return None
    try:
        current = os.nice(0)
        return os.nice(niceness - current) if current < niceness else current
    except OSError:
        return None
