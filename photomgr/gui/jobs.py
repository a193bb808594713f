"""Quick jobs: what WorkerHost queues for the worker, as functions of the worker.

Each runs in the worker thread (see LibraryWorker.drain), uses TagOps / SearchOps, and
answers through the worker's typed signals. A job that raises is reported by drain() in the
window's banner. Every change to labels or decisions ends with `_changed()`, which sends the
fresh label list (names, counts): the window then re-asks for whatever it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photomgr.gui.results import PhotoSet
from photomgr.gui.tag_ops import Memo, TagOps

if TYPE_CHECKING:
    from photomgr.gui.search_ops import SearchOps
    from photomgr.gui.worker import LibraryWorker


def _tags(w: LibraryWorker) -> TagOps:
    assert w.tags is not None  # drain() runs jobs only once the library is open
    return w.tags


def _search(w: LibraryWorker) -> SearchOps:
    assert w.search is not None
    return w.search


def _changed(w: LibraryWorker) -> None:
    w.labels_changed.emit(_tags(w).summaries())


# -- reading ------------------------------------------------------------------------------------
def refresh_labels(w: LibraryWorker) -> None:
    _changed(w)


def label_photos(w: LibraryWorker, label_id: int) -> None:
    w.photo_set.emit(_tags(w).photos_for_label(label_id))


def label_scores(w: LibraryWorker, label_id: int) -> None:
    w.label_scores.emit(_tags(w).label_scores(label_id))


def photo_tags(w: LibraryWorker, photo_id: int) -> None:
    w.photo_tags.emit(photo_id, _tags(w).tags_for_photo(photo_id))


def find_similar(w: LibraryWorker, photo_id: int, k: int) -> None:
    w.similar.emit(photo_id, _search(w).similar(_tags(w).engine, photo_id, k))


def text_search(w: LibraryWorker, text: str) -> None:
    tags = _tags(w)
    if tags.engine is None:
        w.photo_set.emit(PhotoSet("search", text, title="No photo is embedded yet"))
        return
    w.photo_set.emit(_search(w).text(tags.engine, w.encoder(), text))


def duplicates(w: LibraryWorker, threshold: float) -> None:
    w.photo_set.emit(_search(w).duplicates(_tags(w).engine, threshold))


def check_clip(w: LibraryWorker) -> None:
    """Look for CLIP weights (imports open_clip: slow, so only when the Model menu opens)."""
    from dataclasses import replace

    from photomgr.core.library.settings import Settings
    from photomgr.core.services.model_choice import ModelChoice
    from photomgr.gui.worker import clip_state

    if w.library is None or w.state.clip_checked:
        return
    available, message = clip_state(ModelChoice.read(Settings(w.library.conn)))
    w.state = replace(w.state, clip_available=available, clip_message=message, clip_checked=True)
    w.model_state.emit(w.state)


# -- labels (undoable: the window's undo commands pair these up) ---------------------------------
def add_label(w: LibraryWorker, name: str, prompts: list[str] | None, threshold: float | None,
              memo: Memo) -> None:
    try:
        _tags(w).add_label(name, prompts, threshold, memo)
    finally:
        _changed(w)


def undo_add_label(w: LibraryWorker, memo: Memo) -> None:
    _tags(w).undo_add_label(memo)
    _changed(w)


def remove_label(w: LibraryWorker, label_id: int, memo: Memo) -> None:
    try:
        _tags(w).remove_label(label_id, memo)
    finally:
        _changed(w)


def undo_remove_label(w: LibraryWorker, memo: Memo) -> None:
    _tags(w).undo_remove_label(memo)
    _changed(w)


def rename_label(w: LibraryWorker, label_id: int, new: str) -> None:
    try:
        _tags(w).rename_label(label_id, new)
    finally:
        _changed(w)


def edit_label(w: LibraryWorker, label_id: int, prompts: list[str] | None, threshold: float | None,
               clear_threshold: bool) -> None:
    try:
        _tags(w).edit_label(label_id, prompts=prompts, threshold=threshold, clear_threshold=clear_threshold)
    finally:
        _changed(w)


def decide(w: LibraryWorker, photo_ids: list[int], label_id: int, state: str | None, memo: Memo) -> None:
    try:
        _tags(w).decide(photo_ids, label_id, state, memo)
    finally:
        _changed(w)


def undo_decide(w: LibraryWorker, label_id: int, memo: Memo) -> None:
    _tags(w).undo_decide(label_id, memo)
    _changed(w)
