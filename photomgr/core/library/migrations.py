"""Numbered schema migrations.

Each migration moves the database from version N-1 to N inside one transaction, so a
killed process leaves either the old schema or the new one, never half of each. Migrations
are append-only: a released migration is never edited, a later one changes things.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from photomgr.core.library.errors import LibraryError
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, begin


def _folder(path: str) -> str:
    """SQL for the folder of a stored path, with its trailing '/': everything up to the last
    '/' (rtrim strips the characters of the path that are not '/', from the right)."""
    return f"rtrim({path}, replace({path}, '/', ''))"


def _name(path: str) -> str:
    """SQL for the file name of a stored path: what follows its folder."""
    return f"substr({path}, length({_folder(path)}) + 1)"


def _shown(photo_id: str) -> str:
    """SQL for the description a photo shows: the user's if there is one, else the model's."""
    return (f"(SELECT text FROM descriptions WHERE photo_id = {photo_id}"
            " ORDER BY source = 'user' DESC LIMIT 1)")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: Sequence[Migration] = (
    Migration(
        1,
        "photos, scanned roots and settings",
        """
        CREATE TABLE photos (
            id            INTEGER PRIMARY KEY,
            path          TEXT    NOT NULL UNIQUE,
            size          INTEGER NOT NULL,
            mtime_ns      INTEGER NOT NULL,
            content_hash  TEXT,
            format        TEXT,
            width         INTEGER,
            height        INTEGER,
            orientation   INTEGER,
            date_taken    TEXT,
            camera_make   TEXT,
            camera_model  TEXT,
            gps_lat       REAL,
            gps_lon       REAL,
            error         TEXT,
            missing       INTEGER NOT NULL DEFAULT 0,
            added_at      TEXT    NOT NULL,
            updated_at    TEXT    NOT NULL
        );
        CREATE INDEX photos_content_hash ON photos(content_hash);
        CREATE INDEX photos_date_taken ON photos(date_taken);
        CREATE TABLE roots (
            id        INTEGER PRIMARY KEY,
            path      TEXT NOT NULL UNIQUE,
            added_at  TEXT NOT NULL
        );
        CREATE TABLE settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "image vectors, one row per photo and model",
        """
        CREATE TABLE embeddings (
            photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model_id    TEXT    NOT NULL,
            image       BLOB    NOT NULL,
            label       BLOB,
            created_at  TEXT    NOT NULL,
            PRIMARY KEY (photo_id, model_id)
        );
        CREATE INDEX embeddings_model ON embeddings(model_id);
        CREATE TABLE embed_errors (
            photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model_id  TEXT    NOT NULL,
            error     TEXT    NOT NULL,
            PRIMARY KEY (photo_id, model_id)
        );
        """,
    ),
    Migration(
        3,
        "user-defined labels, their text vectors, and the user's tag decisions",
        """
        CREATE TABLE labels (
            id          INTEGER PRIMARY KEY,
            name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
            prompts     TEXT    NOT NULL DEFAULT '[]',
            threshold   REAL,
            created_at  TEXT    NOT NULL,
            updated_at  TEXT    NOT NULL
        );
        CREATE TABLE label_vectors (
            label_id  INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            model_id  TEXT    NOT NULL,
            text_key  TEXT    NOT NULL,
            vector    BLOB    NOT NULL,
            PRIMARY KEY (label_id, model_id)
        );
        CREATE TABLE tag_decisions (
            photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            label_id    INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            state       TEXT    NOT NULL CHECK (state IN ('confirmed', 'rejected')),
            source      TEXT    NOT NULL CHECK (source IN ('auto', 'manual')),
            decided_at  TEXT    NOT NULL,
            PRIMARY KEY (photo_id, label_id)
        );
        CREATE INDEX tag_decisions_label ON tag_decisions(label_id);
        """,
    ),
    Migration(
        4,
        "instance vectors (Find similar's re-ranking) next to the image vectors",
        """
        ALTER TABLE embeddings ADD COLUMN instance BLOB;
        """,
    ),
    Migration(
        5,
        "a per-label revision (the library revision of its last change), for exact cache keys",
        """
        ALTER TABLE labels ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        6,
        "each photo error is permanent or transient (transient ones are retried by the next scan)",
        # Errors recorded before errors had a class: the file system's and memory's (these
        # message prefixes) are transient, the rest are about the file's content.
        """
        ALTER TABLE photos ADD COLUMN error_kind TEXT
            CHECK (error_kind IS NULL OR error_kind IN ('permanent', 'transient'));
        UPDATE photos SET error_kind = CASE
            WHEN error LIKE 'cannot read file:%' OR error LIKE 'out of memory%'
                 OR error LIKE 'could not make a thumbnail: OSError%'
                 OR error LIKE 'could not make a thumbnail: MemoryError%'
            THEN 'transient' ELSE 'permanent' END
        WHERE error IS NOT NULL;
        """,
    ),
    Migration(
        7,
        "decisions may come from a photo's keywords (source 'keyword'); what XMP said per photo",
        # SQLite cannot alter a CHECK constraint: the table is rebuilt (create, copy, drop,
        # rename, the documented procedure), inside this migration's one transaction.
        """
        CREATE TABLE tag_decisions_v7 (
            photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            label_id    INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            state       TEXT    NOT NULL CHECK (state IN ('confirmed', 'rejected')),
            source      TEXT    NOT NULL CHECK (source IN ('auto', 'manual', 'keyword')),
            decided_at  TEXT    NOT NULL,
            PRIMARY KEY (photo_id, label_id)
        );
        INSERT INTO tag_decisions_v7 (photo_id, label_id, state, source, decided_at)
            SELECT photo_id, label_id, state, source, decided_at FROM tag_decisions;
        DROP TABLE tag_decisions;
        ALTER TABLE tag_decisions_v7 RENAME TO tag_decisions;
        CREATE INDEX tag_decisions_label ON tag_decisions(label_id);
        CREATE TABLE photo_xmp (
            photo_id     INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            signature    TEXT    NOT NULL,
            keywords     TEXT    NOT NULL DEFAULT '[]',
            description  TEXT,
            rating       INTEGER,
            problems     TEXT,
            read_at      TEXT    NOT NULL
        );
        """,
    ),
    Migration(
        8,
        "fingerprints of thumbnails and near-copy checks already made (Duplicates), by content hash",
        """
        CREATE TABLE fingerprints (
            content_hash  TEXT    NOT NULL,
            kind          TEXT    NOT NULL,
            value         INTEGER NOT NULL,
            PRIMARY KEY (content_hash, kind)
        );
        CREATE TABLE copy_checks (
            hash_a      TEXT NOT NULL,
            hash_b      TEXT NOT NULL,
            method      TEXT NOT NULL,
            similarity  REAL NOT NULL,
            PRIMARY KEY (hash_a, hash_b, method)
        );
        """,
    ),
    Migration(
        9,
        "photos the user hid from the gallery (e.g. the extra copies in a group of duplicates)",
        """
        CREATE TABLE hidden_photos (
            photo_id   INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            hidden_at  TEXT    NOT NULL
        );
        """,
    ),
    Migration(
        10,
        "descriptions (the model's and the user's) and a full-text index over them and file names",
        # A photo may hold both a model's description and the user's: the user's is the one
        # shown and never overwritten by a model; clearing it shows the model's again. An XMP
        # description read before this version was written by a person: it becomes the user's.
        # `photo_text` (FTS5, rowid = photo id) holds the shown description, the file name and
        # the folder, kept in step by the triggers below (see docs/architecture.md).
        f"""
        CREATE TABLE descriptions (
            photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            source      TEXT    NOT NULL CHECK (source IN ('model', 'user')),
            text        TEXT    NOT NULL,
            model_id    TEXT,
            created_at  TEXT    NOT NULL,
            PRIMARY KEY (photo_id, source),
            CHECK ((source = 'model') = (model_id IS NOT NULL))
        );
        INSERT INTO descriptions (photo_id, source, text, model_id, created_at)
            SELECT photo_id, 'user', trim(description), NULL, read_at FROM photo_xmp
            WHERE description IS NOT NULL AND trim(description) <> '';
        CREATE VIRTUAL TABLE photo_text USING fts5(
            description, name, folder, tokenize = 'porter unicode61 remove_diacritics 2');
        INSERT INTO photo_text (rowid, description, name, folder)
            SELECT p.id, {_shown("p.id")}, {_name("p.path")}, {_folder("p.path")} FROM photos p;
        CREATE TRIGGER photo_text_photo_added AFTER INSERT ON photos BEGIN
            INSERT INTO photo_text (rowid, description, name, folder)
                VALUES (new.id, NULL, {_name("new.path")}, {_folder("new.path")});
        END;
        CREATE TRIGGER photo_text_photo_moved AFTER UPDATE OF path ON photos
            WHEN old.path IS NOT new.path BEGIN
            UPDATE photo_text SET name = {_name("new.path")}, folder = {_folder("new.path")}
                WHERE rowid = new.id;
        END;
        CREATE TRIGGER photo_text_photo_removed AFTER DELETE ON photos BEGIN
            DELETE FROM photo_text WHERE rowid = old.id;
        END;
        CREATE TRIGGER photo_text_description_added AFTER INSERT ON descriptions BEGIN
            UPDATE photo_text SET description = {_shown("new.photo_id")} WHERE rowid = new.photo_id;
        END;
        CREATE TRIGGER photo_text_description_changed AFTER UPDATE ON descriptions BEGIN
            UPDATE photo_text SET description = {_shown("new.photo_id")} WHERE rowid = new.photo_id;
        END;
        CREATE TRIGGER photo_text_description_removed AFTER DELETE ON descriptions BEGIN
            UPDATE photo_text SET description = {_shown("old.photo_id")} WHERE rowid = old.photo_id;
        END;
        """,
    ),
    Migration(
        11,
        "each thumbnail's small grey descriptor for the near-copy screen (Duplicates), by content hash",
        # Made at indexing from the thumbnail in memory, so the screen that settles most of a
        # first Duplicates run's pairs decodes no thumbnail; an older library's are made from
        # its thumbnails on first use and stored. `pixels`: height x width uint8, row-major.
        """
        CREATE TABLE copy_descriptors (
            content_hash  TEXT    NOT NULL,
            kind          TEXT    NOT NULL,
            height        INTEGER NOT NULL,
            width         INTEGER NOT NULL,
            pixels        BLOB    NOT NULL,
            PRIMARY KEY (content_hash, kind)
        );
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database, without writing anything (0: none yet)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def current_version(conn: sqlite3.Connection) -> int:
    return stored_version(conn)


_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
)


def migrate(conn: sqlite3.Connection, target: int | None = None,
            policy: WaitPolicy = DEFAULT_WAIT) -> list[int]:
    """Apply every migration above the database's version up to `target`; return those applied.

    Each migration is one transaction: a killed process or a failing statement leaves the
    library at the previous version with its data intact, and the next open tries again.
    """
    latest = MIGRATIONS[-1].version
    target = latest if target is None else target
    version = stored_version(conn)
    if version > latest:
        raise LibraryError(
            f"this library was written by a newer photomgr (schema {version}, "
            f"this version knows {latest}); upgrade photomgr to open it"
        )
    applied: list[int] = []
    for migration in MIGRATIONS:
        if version < migration.version <= target:
            # executescript would COMMIT first; run statements one by one inside our transaction.
            begin(conn, policy)
            try:
                if stored_version(conn) >= migration.version:  # another process got here first
                    conn.execute("COMMIT")
                    continue
                conn.execute(_VERSION_TABLE)
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version(version) VALUES (?)", (migration.version,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            applied.append(migration.version)
    return applied


def _statements(sql: str) -> list[str]:
    """The statements of a migration, in order. A trigger's body holds semicolons of its own,
    so pieces are joined until SQLite says the statement is complete (no literal in our
    migrations holds a semicolon)."""
    out: list[str] = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip().rstrip(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip().rstrip(";").strip())
    return out
