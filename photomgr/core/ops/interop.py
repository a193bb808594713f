"""Keywords that travel: import keywords as confirmed labels, write sidecars, remove folders.

- `import_keywords`: every photo whose XMP (embedded, IPTC, sidecars) changed since it was
  last read is parsed *outside* any transaction, then its keywords become labels (the leaf of
  a hierarchy is the label's name: "Animals|Dog" -> "Dog", because a label is matched by its
  text and "Dog" is what the text model understands) and the photo is confirmed for them with
  source 'keyword', so they act as few-shot examples for every other photo at once. A user's
  own decision on a photo is never overridden; a keyword that disappears from a photo's XMP
  takes back only the confirmation it made. A re-read applies only what changed since the
  last read: a keyword read before whose label the user has removed, renamed or un-confirmed
  on that photo does not bring it back when the photo or a sidecar changes for another reason
  (`force` applies every keyword again). Batches of photos commit in short transactions.
- `write_sidecars`: opt-in; never touches an original, merges into existing sidecars
  (core/xmp/merge.py).
- `remove_folder`: photos under a folder leave the library; nothing on disk changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from photomgr.core.fspaths import display_path
from photomgr.core.library import descriptions
from photomgr.core.library.errors import LibraryBusy, LibraryReadOnly
from photomgr.core.library.keywords import KeywordStore, PresentPhoto
from photomgr.core.library.labels import CONFIRMED, LabelStore, clean_name
from photomgr.core.library.settings import Settings
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.xmp.merge import SidecarContent, SidecarError, read_text, write_sidecar
from photomgr.core.xmp.parse import KeywordPath
from photomgr.core.xmp.sidecar import EXT_NAMING, NAMINGS, PhotoKeywords, SidecarFinder, read_photo
from photomgr.core.xmp.sidecar import sidecar_path as sidecar_path_for
from photomgr.core.xmp.sidecar import signature as make_signature

if TYPE_CHECKING:
    from photomgr.core.services.tagging import TagEngine

BATCH = 200  # photos parsed, then written in one short transaction
NAMING_KEY = "xmp.sidecar_naming"  # "ext" (IMG_1.jpg.xmp, default) or "base" (IMG_1.xmp)
KEEP_UPDATED_KEY = "xmp.keep_sidecars_updated"  # "1": write sidecars after each change


@dataclass
class KeywordImport:
    photos: int = 0  # photos looked at
    read: int = 0  # photos whose XMP changed and was read
    with_keywords: int = 0
    labels_added: list[str] = field(default_factory=list)
    confirmed: int = 0  # decisions added from keywords
    withdrawn: int = 0  # keyword decisions taken back (the keyword left the photo's XMP)
    descriptions: int = 0  # user's descriptions set or taken back from XMP's dc:description
    problems: list[str] = field(default_factory=list)
    keywords: dict[str, list[str]] = field(default_factory=dict)  # path -> keywords read

    def as_json(self) -> dict[str, object]:
        return {"photos": self.photos, "read": self.read, "with_keywords": self.with_keywords,
                "labels_added": self.labels_added, "confirmed": self.confirmed,
                "withdrawn": self.withdrawn, "descriptions": self.descriptions,
                "problems": [display_path(p) for p in self.problems],
                "keywords": {display_path(k): v for k, v in self.keywords.items()}}


@dataclass
class SidecarReport:
    photos: int = 0
    written: list[str] = field(default_factory=list)  # sidecar paths written
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (photo path, reason)

    def as_json(self) -> dict[str, object]:
        return {"photos": self.photos, "written": [display_path(p) for p in self.written],
                "unchanged": self.unchanged,
                "failed": [{"path": display_path(p), "error": display_path(e)} for p, e in self.failed]}


@dataclass(frozen=True)
class FolderRemoval:
    folder: str
    photos: int
    roots: tuple[str, ...]


def _fold(path: Sequence[str]) -> tuple[str, ...]:
    return tuple(p.casefold() for p in path)


def label_name(path: KeywordPath) -> str:
    """The label a keyword becomes: the leaf of its hierarchy, cleaned as every label name is."""
    return clean_name(path[-1])


class InteropOps:
    def __init__(self, conn: sqlite3.Connection, wait: WaitPolicy = DEFAULT_WAIT) -> None:
        self.conn = conn
        self.wait = wait
        self.store = KeywordStore(conn)
        self.labels = LabelStore(conn)

    # -- settings --------------------------------------------------------------------------
    def naming(self) -> str:
        value = Settings(self.conn).get(NAMING_KEY, EXT_NAMING)
        return value if value in NAMINGS else EXT_NAMING

    def keep_updated(self) -> bool:
        return Settings(self.conn).get(KEEP_UPDATED_KEY) == "1"

    def configure(self, *, naming: str | None = None, keep_updated: bool | None = None
                  ) -> OpResult[None]:
        if naming is not None and naming not in NAMINGS:
            raise ValueError(f"unknown sidecar naming {naming!r} (use {' or '.join(NAMINGS)})")
        with write_transaction(self.conn, self.wait) as revision:
            settings = Settings(self.conn)
            if naming is not None:
                settings.set(NAMING_KEY, naming)
            if keep_updated is not None:
                settings.set(KEEP_UPDATED_KEY, "1" if keep_updated else None)
        return OpResult(None, OpChanges(revision))

    # -- reading keywords ------------------------------------------------------------------
    def import_keywords(self, roots: Sequence[Path] | None = None, *, force: bool = False,
                        between_batches: Callable[[], None] | None = None,
                        ) -> OpResult[KeywordImport]:
        """Read the keywords of photos under `roots` (None: the whole library) whose photo or
        sidecars changed since the last read (`force`: all of them) and apply them."""
        report = KeywordImport()
        photos = self.store.present(roots)
        report.photos = len(photos)
        finder = SidecarFinder()
        known = {} if force else self.store.signatures([p.id for p in photos])
        todo: list[tuple[PresentPhoto, str, list[tuple[Path, int]]]] = []
        for photo in photos:
            sidecars = finder.sidecars(Path(photo.path))
            sig = make_signature(photo.size, photo.mtime_ns, sidecars)
            if known.get(photo.id) != sig:
                todo.append((photo, sig, sidecars))
        labels: set[int] = set()
        touched: set[int] = set()
        last_revision = 0
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            read = [(p, sig, read_photo(Path(p.path), sidecars)) for p, sig, sidecars in batch]
            with write_transaction(self.conn, self.wait) as revision:
                last_revision = revision
                ids_by_name = self.store.label_ids_by_name()  # once per batch, kept current below
                for photo, sig, found in read:
                    changed = self._apply(photo, sig, found, report, ids_by_name, force=force)
                    labels |= changed
                    if changed:
                        touched.add(photo.id)
            if between_batches is not None:
                between_batches()
        report.read = len(todo)
        return OpResult(report, OpChanges(last_revision, label_list=bool(report.labels_added),
                                          labels=frozenset(labels), photos=frozenset(touched)))

    def _apply(self, photo: PresentPhoto, sig: str, found: PhotoKeywords, report: KeywordImport,
               ids_by_name: dict[str, int], *, force: bool = False) -> set[int]:
        """One photo's keywords into the library (inside the batch's transaction)."""
        data = found.data
        report.problems.extend(found.problems)
        if data.keywords:
            report.with_keywords += 1
            report.keywords[photo.path] = ["|".join(k) for k in data.keywords]
        before = self.store.stored(photo.id)
        # Keywords the last read found were applied then; what the user did since (a label
        # removed or renamed, a tag cleared) stands, so only new keywords are applied and only
        # dropped ones withdrawn. Was: every re-read re-created a removed label.
        previous = set() if before is None or force else {_fold(k) for k in before.keywords}
        wanted: set[int] = set()
        for path in data.keywords:
            if _fold(path) in previous:
                continue
            name = label_name(path)
            if not name:  # nothing but control characters
                continue
            label_id = ids_by_name.get(name.casefold())
            if label_id is None:
                label_id = self.labels.add(name).id
                ids_by_name[name.casefold()] = label_id
                report.labels_added.append(name)
            wanted.add(label_id)
        changed: set[int] = set()
        for label_id in wanted:
            if self.store.confirm_from_keyword(photo.id, label_id):
                report.confirmed += 1
                changed.add(label_id)
        if found.incomplete:
            # A sidecar could not be read (half-saved by another tool, damaged): what it says
            # is unknown, not gone. Was: its keywords' confirmations and its description were
            # taken back and keywords=() recorded, so the next good read applied every keyword
            # anew (removed labels came back). New keywords are applied and remembered; nothing
            # is withdrawn; no signature is stored, so it is read again next time.
            for label_id in changed:
                self.labels.touch(label_id)
            kept = list(before.keywords) if before is not None else []
            known_paths = {_fold(k) for k in kept}
            kept += [k for k in data.keywords if _fold(k) not in known_paths]
            self.store.record(photo.id, "", kept, before.description if before else None,
                              before.rating if before else None, found.problems)
            return changed
        for label_id in self.store.keyword_decisions(photo.id) & self._withdrawn(
                previous, data.keywords, wanted, ids_by_name, photo.id):
            self.store.drop_keyword_decision(photo.id, label_id)
            report.withdrawn += 1
            changed.add(label_id)
        for label_id in changed:
            self.labels.touch(label_id)
        if descriptions.from_xmp(self.conn, photo.id, data.description,
                                 before.description if before is not None else None,
                                 model_mark=data.model_description):
            report.descriptions += 1
        self.store.record(photo.id, sig, data.keywords, data.description, data.rating, found.problems)
        return changed

    def _withdrawn(self, previous: set[tuple[str, ...]], keywords: Sequence[KeywordPath],
                   wanted: set[int], ids_by_name: dict[str, int], photo_id: int) -> set[int]:
        """The labels whose keyword confirmation the XMP takes back: on a first (or forced)
        read every keyword decision it does not make again, on a re-read those of keywords that
        left the XMP (no keyword left names the label: 'Pets|Dog' gone, 'Animals|Dog' stays).
        By label id, not name: a label renamed since its keyword was read (Dog -> Puppy) is
        found by no keyword, and was kept confirmed after 'Dog' left the XMP."""
        decided = self.store.keyword_decisions(photo_id)
        if not previous:
            return decided - wanted
        now = {_fold(k) for k in keywords}
        remaining = {label_name(k).casefold() for k in keywords}
        named = {ids_by_name[n] for n in remaining if n in ids_by_name}
        orphans = decided - wanted - named  # keyword decisions no keyword in the XMP names
        if not orphans:
            return set()
        gone = {label_name(path) for path in previous - now} - remaining
        out = {ids_by_name[n] for n in gone if n in ids_by_name} & orphans
        # The rest are labels renamed since: which keyword made which is not known, so they
        # go only when every keyword that lost its label (by renaming) left the XMP too; one
        # still there may be the renamed label's own ('Dog' still there keeps Puppy).
        lost = {label_name(path) for path in previous} - ids_by_name.keys()
        if not lost & {label_name(path) for path in previous & now}:
            out |= orphans - {ids_by_name[label_name(path)] for path in previous
                              if label_name(path) in ids_by_name}
        return out

    # -- writing sidecars ------------------------------------------------------------------
    def sidecar_contents(self, photos: Sequence[PresentPhoto], engine: TagEngine | None,
                         include_auto: bool) -> dict[int, SidecarContent]:
        """What photomgr says about each photo: confirmed tags (with the hierarchy a keyword
        came with), auto tags above threshold when asked, and its description (the user's, else
        the model's), which replaces only a description photomgr knows: none, the one it last
        read from the photo's XMP, or its model's own."""
        all_labels = self.labels.all()
        names = {lab.id: lab.name for lab in all_labels}
        managed = frozenset(n.casefold() for n in names.values())
        confirmed: dict[int, list[int]] = {}
        decided: set[tuple[int, int]] = set()
        for d in self.labels.all_decisions():
            decided.add((d.photo_id, d.label_id))
            if d.state == CONFIRMED:
                confirmed.setdefault(d.photo_id, []).append(d.label_id)
        auto: dict[int, list[str]] = {}
        if include_auto and engine is not None and all_labels and len(engine.matrix().ids):
            labels, table = engine.score_table(all_labels)
            thresholds = [engine.threshold(lab) for lab in labels]
            for row, pid in enumerate(engine.matrix().ids.tolist()):
                auto[pid] = [lab.name for j, lab in enumerate(labels)
                             if table[row, j] >= thresholds[j] and (pid, lab.id) not in decided]
        out: dict[int, SidecarContent] = {}
        shown = descriptions.shown(self.conn, [p.id for p in photos])
        for photo in photos:
            stored = self.store.stored(photo.id)
            paths = {label_name(k).casefold(): k for k in (stored.keywords if stored else ())}
            keywords = [paths.get(names[lid].casefold(), (names[lid],))
                        for lid in sorted(confirmed.get(photo.id, []), key=lambda i: names[i].casefold())]
            ours = shown.get(photo.id)
            known = {stored.description if stored else None, descriptions.model_text(self.conn, photo.id)}
            is_model = ours is not None and ours.source == descriptions.MODEL
            out[photo.id] = SidecarContent(keywords, auto.get(photo.id, []),
                                           ours.text if ours is not None and ours.text else None, managed,
                                           replaceable=frozenset(d for d in known if d),
                                           description_is_model=is_model)
        return out

    def write_sidecars(self, roots: Sequence[Path] | None = None, *, engine: TagEngine | None = None,
                       include_auto: bool = False, naming: str | None = None,
                       photo_ids: Sequence[int] | None = None) -> OpResult[SidecarReport]:
        """Write (merge) a sidecar for every photo under `roots`, or the given photos. Photos
        with nothing to say and no sidecar yet get none. Originals are never opened for writing."""
        naming = naming or self.naming()
        photos = self.store.present(roots)
        if photo_ids is not None:
            wanted = set(photo_ids)
            photos = [p for p in photos if p.id in wanted]
        report = SidecarReport(photos=len(photos))
        contents = self.sidecar_contents(photos, engine, include_auto)
        known = self.store.signatures([p.id for p in photos])
        finder = SidecarFinder()
        ours: list[PresentPhoto] = []  # written over a read that was current: remembered below
        for photo in photos:
            content = contents[photo.id]
            target = sidecar_path_for(Path(photo.path), naming)
            try:
                nothing = not (content.keywords or content.auto or content.description)
                if nothing and read_text(target) is None:
                    report.unchanged += 1
                    continue
                current = known.get(photo.id) == make_signature(
                    photo.size, photo.mtime_ns, finder.sidecars(Path(photo.path)))
                if write_sidecar(target, content):
                    report.written.append(str(target))
                    finder.saw(target)
                    if current:
                        ours.append(photo)
                else:
                    report.unchanged += 1
            except (OSError, SidecarError) as exc:
                report.failed.append((photo.path, str(exc)))
        # The revision of the memo below: the GUI knows the change is its own (nothing shown moved)
        return OpResult(report, OpChanges(self._remember_writes(ours, finder)))

    def _remember_writes(self, photos: Sequence[PresentPhoto], finder: SidecarFinder) -> int:
        """Record what photomgr just wrote as read, so the next read does not take photomgr's
        own sidecar for another tool's edit. Was: every keyword written came back as new at the
        next `index` (a label the user removed after `xmp write` was created again, a cleared
        tag confirmed again) and a cleared description came back. Only photos whose files had
        no unread change before the write: another tool's edit is still applied at the next
        read. What is recorded is the files read back (outside the transaction)."""
        rows = []
        for photo in photos:
            sidecars = finder.sidecars(Path(photo.path))
            found = read_photo(Path(photo.path), sidecars)
            if not found.incomplete:
                rows.append((photo.id, make_signature(photo.size, photo.mtime_ns, sidecars), found))
        if not rows:
            return 0
        try:
            with write_transaction(self.conn, self.wait) as revision:
                for photo_id, sig, found in rows:
                    self.store.record(photo_id, sig, found.data.keywords, found.data.description,
                                      found.data.rating, found.problems)
            return revision
        except (LibraryReadOnly, LibraryBusy):
            return 0  # the sidecars are written; the next read re-applies them, as before this memo

    # -- folders ---------------------------------------------------------------------------
    def remove_folder(self, folder: Path) -> OpResult[FolderRemoval]:
        """Its photos leave the library (with their vectors and decisions); files stay on disk."""
        with write_transaction(self.conn, self.wait) as revision:
            photo_ids = self.store.photos_in_folder(folder)
            labels = {d.label_id for pid in photo_ids for d in self.labels.decisions_for_photo(pid)}
            removed, roots = self.store.remove_folder(folder)
            for label_id in labels:
                self.labels.touch(label_id)
        return OpResult(FolderRemoval(str(folder), removed, tuple(roots)),
                        OpChanges(revision, labels=frozenset(labels), photos=frozenset(photo_ids),
                                  vectors=bool(removed)))



def removed_folders(conn: sqlite3.Connection, roots: Sequence[Path]) -> set[Path]:
    """Folders the user removed from the library that lie strictly inside `roots`: the scan
    must not bring their photos back. Scanning a removed folder itself brings it back."""
    return {folder for folder in KeywordStore(conn).removed_folders()
            if any(root in folder.parents for root in roots)}
