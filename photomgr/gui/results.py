"""What the worker sends to the window: small immutable values, Qt-free and torch-free.

The worker thread computes these (scores, SQL, the model) and emits them through typed
signals; the GUI thread only reads them. Importing this module must stay cheap: the window
imports it at launch, long before the model (torch) is loaded in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# Re-exported for the GUI: the same strings and tag type as the core (no torch behind them).
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

    `undecided` holds the ascending scores of photos with no decision; confirmed photos always
    carry the label and rejected ones never do, whatever the threshold.
    """

    label_id: int
    undecided: npt.NDArray[np.float32]
    confirmed: int
    threshold: float
    default_threshold: float

    def count_at(self, threshold: float) -> int:
        """Photos that would carry the label at `threshold` (same rule as TagEngine.photos_with)."""
        above = len(self.undecided) - int(np.searchsorted(self.undecided, np.float32(threshold), "left"))
        return above + self.confirmed


@dataclass(frozen=True)
class Hit:
    """A search or Find-similar result, with what the window needs to draw it."""

    photo_id: int
    score: float
    path: str
    content_hash: str | None


@dataclass(frozen=True)
class PhotoSet:
    """Photo ids for the gallery, in display order (a label's photos, search results, duplicates)."""

    kind: str  # "label" | "search" | "duplicates"
    key: object  # the label id, the query text, or the threshold: matches a request to its answer
    ids: npt.NDArray[np.int64] = field(default_factory=_no_ids)
    captions: dict[int, str] = field(default_factory=dict)  # per-id prefix (score, group number)
    title: str = ""  # a status-bar line describing the set


@dataclass(frozen=True)
class ModelState:
    """The model as the status bar and the Model menu show it."""

    loaded: str | None = None  # model id of the embedder the worker holds
    active: str | None = None  # model id whose vectors serve tags, search and Find similar
    backend: str = "default"  # the user's choice ("default" | "clip")
    state: str = "loading"  # "loading" | "ready" | "embedding" | "no model" | "no vectors"
    detail: str = ""  # a sentence for the tooltip
    vectors: int = 0  # photos with a vector for the active model
    pending: int = 0  # photos still to embed with the loaded model
    clip_available: bool = False
    clip_message: str = ""
    clip_checked: bool = False  # False until the worker looked for CLIP weights (see check_clip)

    @property
    def searchable(self) -> bool:
        return self.active is not None and self.vectors > 0


def describe_model(model_id: str | None) -> str:
    """"offline default" or "CLIP ViT-B-32 (laion2b_s34b_b79k)" from a model id."""
    if not model_id:
        return "none"
    parts = model_id.split(":")
    if parts[0] == "clip" and len(parts) >= 3:
        return f"CLIP {parts[1]} ({parts[2]})"
    if parts[0] == "default":
        return "offline default"
    return model_id


def model_status_text(state: ModelState) -> str:
    """The status bar's model line, e.g. "Model: offline default · ready"."""
    if state.state == "loading":
        return "Loading model…"
    shown = state.active or state.loaded
    text = f"Model: {describe_model(shown)}"
    if state.state == "embedding" and state.loaded and state.loaded != state.active:
        text = f"Model: {describe_model(state.active)} · embedding with {describe_model(state.loaded)}"
    elif state.state == "embedding":
        text += " · embedding"
    elif state.state == "ready" and state.pending:
        text += f" · {state.pending:,} photos to embed (Rescan, F5)"
    elif state.state not in ("ready", "no vectors"):
        text += f" · {state.state}"
    return text
