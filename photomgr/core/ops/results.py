"""What operations return: small immutable values, free of Qt and torch.

The GUI's worker sends these to the window and the CLI prints them, so importing this module
must stay cheap (no model, no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from photomgr.core.library.labels import CONFIRMED as CONFIRMED
from photomgr.core.library.labels import REJECTED as REJECTED
from photomgr.core.services.tagging import TAGGED as TAGGED
from photomgr.core.services.tagging import UNTAGGED as UNTAGGED
from photomgr.core.services.tagging import TagInfo

TagRow = TagInfo  # one label's verdict on one photo


def _no_ids() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class LabelSummary:
    """One label as the sidebar and the label editor show it."""

    id: int
    name: str
    prompts: tuple[str, ...]
    threshold: float  # the effective threshold (the label's own, or the model's default)
    custom_threshold: bool
    photos: int  # photos carrying the label (scores, then the user's decisions)


@dataclass(frozen=True)
class LabelScores:
    """A label's score distribution, sent once so the threshold slider counts without a round trip.

    `undecided` holds the ascending scores of photos with no decision (`undecided_ids` their
    photos, in the same order); confirmed photos always carry the label and rejected ones never
    do, whatever the threshold.
    """

    label_id: int
    undecided: npt.NDArray[np.float32]
    confirmed: int
    threshold: float
    default_threshold: float
    undecided_ids: npt.NDArray[np.int64] = field(default_factory=_no_ids)

    def count_at(self, threshold: float) -> int:
        """Photos that would carry the label at `threshold` (same rule as TagEngine.photos_with)."""
        above = len(self.undecided) - int(np.searchsorted(self.undecided, np.float32(threshold), "left"))
        return above + self.confirmed

    def changes(self, threshold: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(added, removed): the photos that moving from the label's threshold to `threshold`
        would give the label or take it from, those nearest the threshold first."""
        scores, ids = self.undecided, self.undecided_ids
        if len(ids) != len(scores):
            return _no_ids(), _no_ids()
        now = int(np.searchsorted(scores, np.float32(self.threshold), "left"))
        then = int(np.searchsorted(scores, np.float32(threshold), "left"))
        if then < now:  # a lower threshold: photos in [threshold, current) join, best first
            return ids[then:now][::-1].copy(), _no_ids()
        return _no_ids(), ids[now:then].copy()  # a higher one: the weakest leave first


@dataclass(frozen=True)
class Hit:
    """A search or Find-similar result, with what the window needs to draw it."""

    photo_id: int
    score: float
    path: str
    content_hash: str | None
    text_match: bool = False  # a text search found its words in the description, name or folder


@dataclass(frozen=True)
class PhotoSet:
    """Photo ids for the gallery, in display order (a label's photos, search results, duplicates)."""

    kind: str  # "label" | "search" | "duplicates"
    key: object  # the label id, the query text, or the threshold: matches a request to its answer
    ids: npt.NDArray[np.int64] = field(default_factory=_no_ids)
    captions: dict[int, str] = field(default_factory=dict)  # per-id prefix (score, group number)
    title: str = ""  # a status-bar line describing the set
