"""Typed reads and writes of labels, their cached text vectors and the user's tag decisions."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass

import numpy as np

from photomgr.core.library.photos import utc_now
from photomgr.core.library.transaction import REVISION_KEY

CONFIRMED = "confirmed"
REJECTED = "rejected"


class LabelExists(ValueError):
    pass


class NoSuchLabel(KeyError):
    def __str__(self) -> str:
        return f"no label named {self.args[0]!r}"


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    prompts: tuple[str, ...]  # empty: the backend builds prompts from the name
    threshold: float | None  # None: the backend's calibrated default
    # The library revision (core/library/transaction.py) of the label's last change, its
    # decisions included: with the photos' vectors, it decides every cached count of the label.
    revision: int = 0

    @property
    def texts(self) -> list[str]:
        """What the model embeds: the user's prompts ("{}" stands for the name), else the name."""
        return [p.replace("{}", self.name) for p in self.prompts] if self.prompts else [self.name]

    @property
    def text_key(self) -> str:
        """Identity of what the text vector was made from: stale when this changes."""
        return json.dumps({"name": self.name, "prompts": list(self.prompts)}, sort_keys=True)


@dataclass(frozen=True)
class Decision:
    photo_id: int
    label_id: int
    state: str  # CONFIRMED | REJECTED
    source: str  # "auto": the user judged an auto tag; "manual": the user added the tag;
    # "keyword": confirmed because the photo's keywords (XMP, IPTC) say so


def _label(row: tuple) -> Label:  # type: ignore[type-arg]
    try:
        prompts = json.loads(row[2])
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ValueError("not a list of texts")
    except ValueError:  # a hand-edited or damaged row: fall back to the name rather than crash
        prompts = []
    return Label(row[0], row[1], tuple(prompts), row[3], row[4])


_SPACES = re.compile(r"\s+")


def clean_name(name: str) -> str:
    """A label's name as stored and looked up: a line break, a tab or a run of spaces becomes
    one space and other control characters go, so that every name fits on one line in lists,
    menus and sidecars (`labels add $'a\\nb'` printed over two lines and wrote the line break
    into XMP keywords). Format characters such as an emoji's joiner stay."""
    kept = "".join(ch for ch in name if ch.isspace() or unicodedata.category(ch) != "Cc")
    return _SPACES.sub(" ", kept).strip()


class LabelStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def touch(self, label_id: int) -> None:
        """Stamp a label with the revision of the transaction changing it (see Label.revision)."""
        self.conn.execute(
            "UPDATE labels SET revision = COALESCE((SELECT CAST(value AS INTEGER) FROM settings"
            " WHERE key = ?), 0) WHERE id = ?", (REVISION_KEY, label_id))

    # -- labels --------------------------------------------------------------------------
    def all(self) -> list[Label]:
        rows = self.conn.execute(
            "SELECT id, name, prompts, threshold, revision FROM labels ORDER BY name COLLATE NOCASE")
        return [_label(r) for r in rows]

    def by_name(self, name: str) -> Label:
        # As typed first: a name stored before names were cleaned ("my  dog") is still found.
        row = self.conn.execute("SELECT id, name, prompts, threshold, revision FROM labels"
                                " WHERE name IN (?, ?) ORDER BY name = ? DESC LIMIT 1",
                                (name, clean_name(name), name)).fetchone()
        if row is None:
            raise NoSuchLabel(name)
        return _label(row)

    def _get(self, label_id: int) -> Label:
        label = self.by_id(label_id)
        if label is None:
            raise NoSuchLabel(label_id)
        return label

    def by_id(self, label_id: int) -> Label | None:
        row = self.conn.execute(
            "SELECT id, name, prompts, threshold, revision FROM labels WHERE id = ?", (label_id,)).fetchone()
        return _label(row) if row else None

    def add(self, name: str, prompts: list[str] | None = None, threshold: float | None = None) -> Label:
        name = clean_name(name)
        if not name:
            raise ValueError("a label needs a name")
        now = utc_now()
        try:
            cur = self.conn.execute(
                "INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", (name, json.dumps(prompts or []), threshold, now, now))
        except sqlite3.IntegrityError as exc:
            raise LabelExists(f"a label named {name!r} already exists") from exc
        assert cur.lastrowid is not None
        self.touch(cur.lastrowid)
        return self._get(cur.lastrowid)

    def rename(self, old: str, new: str) -> Label:
        label = self.by_name(old)
        new = clean_name(new)
        if not new:
            raise ValueError("a label needs a name")
        try:
            self.conn.execute("UPDATE labels SET name = ?, updated_at = ? WHERE id = ?",
                              (new, utc_now(), label.id))
        except sqlite3.IntegrityError as exc:
            raise LabelExists(f"a label named {new!r} already exists") from exc
        self.touch(label.id)
        return self._get(label.id)

    def update(self, label_id: int, *, prompts: list[str] | None = None,
               threshold: float | None = None, clear_threshold: bool = False) -> Label:
        label = self.by_id(label_id)
        if label is None:
            raise NoSuchLabel(label_id)
        new_prompts = tuple(prompts) if prompts is not None else label.prompts
        new_threshold = None if clear_threshold else (threshold if threshold is not None else label.threshold)
        self.conn.execute("UPDATE labels SET prompts = ?, threshold = ?, updated_at = ? WHERE id = ?",
                          (json.dumps(list(new_prompts)), new_threshold, utc_now(), label_id))
        self.touch(label_id)
        return self._get(label_id)

    def remove(self, name: str) -> Label:
        label = self.by_name(name)
        self.conn.execute("DELETE FROM labels WHERE id = ?", (label.id,))
        return label

    def delete(self, label_id: int) -> None:
        """Delete a label; its decisions and text vectors go with it (ON DELETE CASCADE)."""
        self.conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))

    def restore(self, label: Label, decisions: list[Decision]) -> None:
        """Put back a removed label with its id and decisions (undo)."""
        now = utc_now()
        self.conn.execute(
            "INSERT INTO labels (id, name, prompts, threshold, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (label.id, label.name, json.dumps(list(label.prompts)), label.threshold, now, now))
        self.touch(label.id)
        for d in decisions:
            self.set_decision(d.photo_id, d.label_id, d.state, d.source)

    # -- text vectors (a cache: recomputed when the text or the model changes) -------------
    def cached_vector(self, label: Label, model_id: str) -> np.ndarray | None:
        row = self.conn.execute(
            "SELECT text_key, vector FROM label_vectors WHERE label_id = ? AND model_id = ?",
            (label.id, model_id)).fetchone()
        if row is None or row[0] != label.text_key:
            return None
        # Text vectors are few: keep them at float32 precision rather than the photos' float16.
        return np.frombuffer(row[1], dtype=np.float32).copy()

    def store_vector(self, label: Label, model_id: str, vector: np.ndarray) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO label_vectors (label_id, model_id, text_key, vector) VALUES (?,?,?,?)",
            (label.id, model_id, label.text_key, np.ascontiguousarray(vector, np.float32).tobytes()))

    # -- decisions ---------------------------------------------------------------------------
    def set_decision(self, photo_id: int, label_id: int, state: str, source: str = "auto") -> None:
        if state not in (CONFIRMED, REJECTED):
            raise ValueError(f"unknown tag state {state!r}")
        self.conn.execute(
            "INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(photo_id, label_id) DO UPDATE SET"
            " state = excluded.state, source = excluded.source, decided_at = excluded.decided_at",
            (photo_id, label_id, state, source, utc_now()))
        self.touch(label_id)

    def clear_decision(self, photo_id: int, label_id: int) -> None:
        self.conn.execute("DELETE FROM tag_decisions WHERE photo_id = ? AND label_id = ?",
                          (photo_id, label_id))
        self.touch(label_id)

    def decisions_for_label(self, label_id: int) -> list[Decision]:
        rows = self.conn.execute(
            "SELECT photo_id, label_id, state, source FROM tag_decisions WHERE label_id = ?",
            (label_id,))
        return [Decision(*r) for r in rows]

    def decisions_for_photo(self, photo_id: int) -> list[Decision]:
        rows = self.conn.execute(
            "SELECT photo_id, label_id, state, source FROM tag_decisions WHERE photo_id = ?",
            (photo_id,))
        return [Decision(*r) for r in rows]

    def all_decisions(self) -> list[Decision]:
        rows = self.conn.execute("SELECT photo_id, label_id, state, source FROM tag_decisions")
        return [Decision(*r) for r in rows]
