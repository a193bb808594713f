"""Which folders a cancelled (or killed) index left unfinished, so the window can offer to resume.

Kept in the settings table as a JSON list of root paths: set when an index of those roots is
cancelled, cleared for a root when an index of it runs to the end.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from photomgr.core.library.settings import Settings

INTERRUPTED_KEY = "interrupted_scan"


def interrupted_roots(conn: sqlite3.Connection) -> list[str]:
    """Roots whose last index stopped before the end (read-only; any connection)."""
    raw = Settings(conn).get(INTERRUPTED_KEY)
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(r) for r in value] if isinstance(value, list) else []


def record_scan_end(conn: sqlite3.Connection, roots: Sequence[str], *, finished: bool) -> None:
    """Inside a write transaction: `roots` were indexed to the end (finished) or stopped."""
    now = interrupted_roots(conn)
    kept = [r for r in now if r not in roots] if finished else now + [r for r in roots if r not in now]
    Settings(conn).set(INTERRUPTED_KEY, json.dumps(kept) if kept else None)
