"""Quick jobs: what WorkerHost queues for the worker, as functions of the worker.

Each runs in the worker thread (see LibraryWorker.drain), calls the core operations
(photomgr.core.ops, through `w.ops`), and answers through the worker's typed signals. A job
that raises is reported by drain() in the window's banner. Every write ends with `_changed()`,
which sends its OpChanges and the fresh label list (names, counts): each view then decides
what to re-ask for. New operations need no job here: WorkerHost.run_op runs any of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from photomgr.core.ops.tagging import TagOps
from photomgr.gui.worker.results import PhotoSet

if TYPE_CHECKING:
    from photomgr.core.ops.searching import SearchOps
    from photomgr.gui.worker.library_worker import LibraryWorker


def _tags(w: LibraryWorker) -> TagOps:
    assert w.ops is not None  # drain() runs jobs only once the library is open
    return w.ops.tags


def _search(w: LibraryWorker) -> SearchOps:
    assert w.ops is not None
    return w.ops.search


def _changed(w: LibraryWorker) -> None:
    w.labels_changed.emit(_tags(w).summaries())


# -- reading ------------------------------------------------------------------------------------
def refresh_labels(w: LibraryWorker) -> None:
    _changed(w)


def notice_other_writers(w: LibraryWorker) -> None:
    w.notice_other_writers()


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
    from photomgr.gui.worker.library_worker import clip_state

    if w.library is None or w.state.clip_checked:
        return
    available, message = clip_state(ModelChoice.read(Settings(w.library.conn)))
    w.state = replace(w.state, clip_available=available, clip_message=message, clip_checked=True)
    w.model_state.emit(w.state)
