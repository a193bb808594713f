"""What the worker sends to the window about the model, and how the status bar words it.

The values operations return (labels, tags, photo sets, hits) live in photomgr.core.ops.results
and are re-exported here for the GUI's modules. Importing this module must stay cheap: the
window imports it at launch, long before the model (torch) is loaded in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from photomgr.core.ops.results import CONFIRMED as CONFIRMED
from photomgr.core.ops.results import REJECTED as REJECTED
from photomgr.core.ops.results import TAGGED as TAGGED
from photomgr.core.ops.results import UNTAGGED as UNTAGGED
from photomgr.core.ops.results import Hit as Hit
from photomgr.core.ops.results import LabelScores as LabelScores
from photomgr.core.ops.results import LabelSummary as LabelSummary
from photomgr.core.ops.results import PhotoSet as PhotoSet
from photomgr.core.ops.results import TagRow as TagRow


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
