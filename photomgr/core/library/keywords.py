"""SQL of keywords that travel: what each photo's XMP said, and decisions sourced from it.

`photo_xmp` holds, per photo, the signature of what was read (photo and sidecar mtimes, see
core/xmp/sidecar.py), the keyword paths as JSON, the description and the rating. Decisions
imported from keywords live in `tag_decisions` with source 'keyword', beside the user's own.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.fspaths import path_from_db, path_to_db
from photomgr.core.library.labels import clean_name
from photomgr.core.library.photos import utc_now

REMOVED_FOLDERS_KEY = "library.removed_folders"  # JSON list of folders the user removed
KEYWORD = "keyword"  # tag_decisions.source of a decision imported from a photo's keywords


@dataclass(frozen=True)
class PresentPhoto:
    id: int
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class StoredXmp:
    photo_id: int
    keywords: tuple[tuple[str, ...], ...]
    description: str | None
    rating: int | None


def _under(column: str, root: str) -> tuple[str, tuple[str, str, str]]:
    root = path_to_db(root)  # the stored text of the path (core/fspaths.py)
    prefix = root.rstrip("/") + "/"
    # A range on the path index: '0' is the character after '/'.
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", (root, prefix, prefix[:-1] + "0")


def _keywords(text: str | None) -> tuple[tuple[str, ...], ...]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(tuple(str(p) for p in path) for path in value if isinstance(path, list))


class KeywordStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- reads -----------------------------------------------------------------------------
    def present(self, roots: Iterable[Path] | None = None) -> list[PresentPhoto]:
        """Usable photos (present, no error), all or those under `roots` (folders or files)."""
        base = "SELECT id, path, size, mtime_ns FROM photos WHERE missing = 0 AND error IS NULL"
        if roots is None:
            return [PresentPhoto(r[0], path_from_db(r[1]), r[2], r[3])
                    for r in self.conn.execute(base + " ORDER BY path")]
        out: dict[int, PresentPhoto] = {}
        for root in roots:
            where, args = _under("path", str(root))
            for r in self.conn.execute(f"{base} AND {where}", args):
                out[r[0]] = PresentPhoto(r[0], path_from_db(r[1]), r[2], r[3])
        return sorted(out.values(), key=lambda p: p.path)

    def signatures(self, photo_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = list(photo_ids)
        for start in range(0, len(ids), 900):  # under SQLite's variable limit
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for pid, sig in self.conn.execute(
                    f"SELECT photo_id, signature FROM photo_xmp WHERE photo_id IN ({marks})", chunk):
                out[pid] = path_from_db(sig)
        return out

    def stored(self, photo_id: int) -> StoredXmp | None:
        row = self.conn.execute(
            "SELECT photo_id, keywords, description, rating FROM photo_xmp WHERE photo_id = ?",
            (photo_id,)).fetchone()
        if row is None:
            return None
        return StoredXmp(row[0], _keywords(row[1]), row[2], row[3])

    def keyword_decisions(self, photo_id: int) -> set[int]:
        """Labels confirmed on the photo because its keywords said so (and not since judged)."""
        rows = self.conn.execute(
            "SELECT label_id FROM tag_decisions WHERE photo_id = ? AND source = ?", (photo_id, KEYWORD))
        return {r[0] for r in rows}

    def label_ids_by_name(self) -> dict[str, int]:
        """Every label, by its cleaned, case-folded name (label names are unique,
        case-insensitively). Cleaned as a keyword's label name is (labels.clean_name): a name
        stored before names were cleaned ("Big  Dog") is the label keyword "Big  Dog" means,
        not a reason to make a twin "Big Dog"."""
        out: dict[str, int] = {}
        for lid, name in self.conn.execute("SELECT id, name FROM labels ORDER BY id"):
            out.setdefault(clean_name(name).casefold(), lid)  # two old spellings: the older wins
        return out

    # -- writes (inside a write transaction) -------------------------------------------------
    def record(self, photo_id: int, signature: str, keywords: Sequence[Sequence[str]],
               description: str | None, rating: int | None, problems: Sequence[str]) -> None:
        self.conn.execute(
            "INSERT INTO photo_xmp (photo_id, signature, keywords, description, rating, problems,"
            " read_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(photo_id) DO UPDATE SET"
            " signature = excluded.signature, keywords = excluded.keywords,"
            " description = excluded.description, rating = excluded.rating,"
            " problems = excluded.problems, read_at = excluded.read_at",
            # signature and problems name files: stored as path text (core/fspaths.py)
            (photo_id, path_to_db(signature), json.dumps([list(k) for k in keywords], ensure_ascii=False),
             description, rating, path_to_db("\n".join(problems)) or None, utc_now()))

    def confirm_from_keyword(self, photo_id: int, label_id: int) -> bool:
        """Confirm a label on a photo from its keywords, unless the user already decided (their
        decision stands, a rejection included). True if a decision was added."""
        cur = self.conn.execute(
            "INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
            " VALUES (?, ?, 'confirmed', ?, ?) ON CONFLICT(photo_id, label_id) DO NOTHING",
            (photo_id, label_id, KEYWORD, utc_now()))
        return cur.rowcount > 0

    def drop_keyword_decision(self, photo_id: int, label_id: int) -> None:
        """The keyword left the photo's XMP: forget the confirmation it had made (only that)."""
        self.conn.execute("DELETE FROM tag_decisions WHERE photo_id = ? AND label_id = ? AND source = ?",
                          (photo_id, label_id, KEYWORD))

    # -- folders -------------------------------------------------------------------------------
    def photos_in_folder(self, folder: Path) -> list[int]:
        where, args = _under("path", str(folder))
        return [r[0] for r in self.conn.execute(f"SELECT id FROM photos WHERE {where}", args)]

    def remove_folder(self, folder: Path) -> tuple[int, list[str]]:
        """Forget every photo under `folder` (their vectors, decisions and XMP rows go with them,
        ON DELETE CASCADE) and the roots at or below it. Returns (photos removed, roots removed)."""
        where, args = _under("path", str(folder))
        roots = [path_from_db(r[0]) for r in self.conn.execute(f"SELECT path FROM roots WHERE {where}", args)]
        self.conn.execute(f"DELETE FROM roots WHERE {where}", args)
        cur = self.conn.execute(f"DELETE FROM photos WHERE {where}", args)
        removed = sorted({*self._removed_setting(), str(folder)})
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
            " SET value = excluded.value", (REMOVED_FOLDERS_KEY, json.dumps(removed)))
        return cur.rowcount, roots

    def _removed_setting(self) -> list[str]:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (REMOVED_FOLDERS_KEY,)).fetchone()
        try:
            value = json.loads(row[0]) if row else []
        except ValueError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    def removed_folders(self) -> list[Path]:
        """Folders removed from the library and not added back since (adding a folder back
        makes it a root again, which ends its removal)."""
        roots = [Path(path_from_db(r[0])) for r in self.conn.execute("SELECT path FROM roots")]
        out = []
        for text in self._removed_setting():
            folder = Path(text)
            if not any(r == folder or folder in r.parents for r in roots):
                out.append(folder)
        return out
