"""Descriptions: one sentence per photo, written by the active backend's captioner.

- Default backend: a small Transformer decoder trained here on Flickr8k
  (photomgr/training/train_captioner.py) reads the 7x7 feature map of the SAME EfficientNet-Lite0
  forward pass that makes the photo's vectors, so a description costs only the decoder.
  Its weights and vocabulary ship in resources/default_captioner.safetensors.
- CLIP backend: open_clip's CoCa ViT-B-32 (`coca_ViT-B-32`, MS-COCO fine-tuned), found by the
  same weight resolution as CLIP itself (clip_weights.py); its own image tower captions the photo.

An embedder loaded with ``describe=True`` fills `EmbeddingBatch.descriptions` and
`description_model` in `embed_images`; when its captioner is unusable the fields stay None and
`embedder.describer_status` says why and what to do. `captioner_available` answers the same
question from files alone (no model loaded, no torch import), for the CLI and settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from photomgr.core.models.resources import resources_dir

if TYPE_CHECKING:  # torch takes ~2 s to import: captioner_available must not pay for it
    import torch

CAPTIONER_FILE = "default_captioner.safetensors"
# Stored with every description the default captioner writes; bumped whenever its sentences
# would change (new weights, vocabulary, decoding settings, or the feature map it reads).
DEFAULT_CAPTION_VERSION = "v1"
DEFAULT_CAPTION_ID = f"default-caption:{DEFAULT_CAPTION_VERSION}"
COCA_MODEL = "coca_ViT-B-32"
COCA_PRETRAINED = "mscoco_finetuned_laion2b_s13b_b90k"
COCA_CAPTION_ID = f"coca:{COCA_MODEL}:{COCA_PRETRAINED}+greedy40"  # = coca_captioner.caption_id
NOT_ASKED = "descriptions were not requested when the model was loaded"


def captioner_file() -> Path:
    return resources_dir() / CAPTIONER_FILE


def default_captioner_status() -> str | None:
    """None when the shipped default captioner is present, else what is wrong and what to do."""
    path = captioner_file()
    if not path.is_file():
        return f"the offline captioner is missing ({path}); reinstall photomgr"
    return None


def coca_status(weights_path: Path | None = None, cache_dir: Path | None = None) -> str | None:
    """None when CoCa's weights are on this machine, else how to get them (files only)."""
    from photomgr.core.models.clip_weights import clip_availability

    coca = clip_availability(COCA_PRETRAINED, model_name=COCA_MODEL, weights_path=weights_path,
                             cache_dir=cache_dir)
    if coca.available:
        return None
    return f"descriptions with the CLIP model need the CoCa captioner ({COCA_MODEL}): {coca.message}"


def captioner_available(model_id_or_backend: str) -> tuple[bool, str]:
    """(usable, message) for the captioner that goes with a backend ("default" | "clip") or a
    model id ("default:...", "clip:..."). Checks files only: instant, never downloads."""
    key = model_id_or_backend.strip()
    if key == "default" or key.startswith("default:") or key.startswith("default-caption"):
        problem = default_captioner_status()
        return (problem is None, problem or f"offline captioner {DEFAULT_CAPTION_ID}: {captioner_file()}")
    if key == "clip" or key.startswith("clip:") or key.startswith("coca:"):
        problem = coca_status()
        return (problem is None, problem or f"CoCa captioner {COCA_CAPTION_ID}")
    return False, f"no captioner for model {model_id_or_backend!r}"


class Captioner(Protocol):
    """Writes one sentence per photo from what the backend's image tower computed."""

    model_id: str  # stored with every description (DEFAULT_CAPTION_ID, COCA_CAPTION_ID)

    def describe(self, inputs: torch.Tensor) -> list[str]:
        """A batch of the backend's captioner inputs -> one sentence each (may be "")."""
        ...


def load_default_captioner(device: str = "cpu",
                           path: Path | None = None) -> tuple[Captioner | None, str | None]:
    """(captioner, None), or (None, why not) when the shipped weights are missing or unusable."""
    path = path or captioner_file()
    if not path.is_file():
        return None, default_captioner_status() or f"the offline captioner is missing ({path})"
    from photomgr.core.models.caption_runtime import DefaultCaptioner

    try:
        return DefaultCaptioner.from_file(path, device=device), None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return None, f"the offline captioner could not be loaded ({exc}); reinstall photomgr"


def load_coca_captioner(device: str = "cpu", *, weights_path: Path | None = None,
                        cache_dir: Path | None = None) -> tuple[Captioner | None, str | None]:
    """(CoCa captioner, None), or (None, why not) when its weights are not on this machine."""
    from photomgr.core.models.base import ModelUnavailable
    from photomgr.core.models.clip_weights import resolve_clip_weights

    problem = coca_status(weights_path, cache_dir)
    if problem is not None:
        return None, problem
    from photomgr.core.models.coca_captioner import CocaCaptioner

    try:
        path = resolve_clip_weights(COCA_MODEL, COCA_PRETRAINED, weights_path=weights_path,
                                    cache_dir=cache_dir, allow_download=False)
        return CocaCaptioner(COCA_MODEL, COCA_PRETRAINED, path, device=device), None
    except ModelUnavailable as exc:
        return None, str(exc)
