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

import importlib.util
import os
import threading
from collections.abc import Callable
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
COCA_ENV = "PHOTOMGR_COCA_WEIGHTS"  # an explicit CoCa checkpoint file
NOT_ASKED = "descriptions were not requested when the model was loaded"


def captioner_file() -> Path:
    return resources_dir() / CAPTIONER_FILE


def default_captioner_status() -> str | None:
    """None when the shipped default captioner is present, else what is wrong and what to do."""
    path = captioner_file()
    if not path.is_file():
        return f"the offline captioner is missing ({path}); reinstall photomgr"
    return None


def coca_weights(cache_dir: Path | None = None) -> Path | None:
    """CoCa's checkpoint on this machine: $PHOTOMGR_COCA_WEIGHTS, else the Hugging Face cache
    (where open_clip's own download and `fetch_coca` put it). Files only, never the network.

    Deliberately not `resolve_clip_weights`: that honours $PHOTOMGR_CLIP_WEIGHTS, which names
    the CLIP checkpoint, not CoCa's.
    """
    if os.environ.get(COCA_ENV):
        path = Path(os.environ[COCA_ENV]).expanduser()
        return path if path.is_file() else None
    from photomgr.core.models.clip_weights import clip_source, find_cached

    return find_cached(clip_source(COCA_MODEL, COCA_PRETRAINED), cache_dir)


def coca_status(cache_dir: Path | None = None) -> str | None:
    """None when CoCa's weights are on this machine, else how to get them (files only)."""
    if importlib.util.find_spec("open_clip") is None:
        return "descriptions with the CLIP model need open_clip_torch, which is not installed"
    if coca_weights(cache_dir) is not None:
        return None
    from photomgr.core.models.clip_weights import clip_source

    source = clip_source(COCA_MODEL, COCA_PRETRAINED)
    where = (f"{COCA_ENV} names {os.environ[COCA_ENV]}, which is not a file" if os.environ.get(COCA_ENV)
             else "not downloaded yet")
    return (f"descriptions with the CLIP model need the CoCa captioner ({COCA_MODEL}, {COCA_PRETRAINED}): "
            f"{where}. On a connected machine run `photomgr model fetch --captioner`, or download "
            f"{source.filenames[0]} from https://huggingface.co/{source.repo_id} and set {COCA_ENV} "
            "to its path.")


def fetch_coca(progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None, cache_dir: Path | None = None) -> Path:
    """Download CoCa's weights into the Hugging Face cache (or find them there); the same
    download code, progress and cancel as CLIP's. Raises ModelUnavailable / DownloadCancelled."""
    from photomgr.core.models.clip_weights import clip_source, download_to_cache, hub_cache_dir

    found = coca_weights(cache_dir)
    if found is not None:
        return found
    return download_to_cache(clip_source(COCA_MODEL, COCA_PRETRAINED), hub_cache_dir(cache_dir),
                             progress=progress, cancel=cancel)


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


# The app decodes greedily. Beam 3 writes better sentences (held-out Flickr8k BLEU-4 0.190 vs
# greedy, docs/benchmarks.md "Descriptions") but costs 3x the decoding: with the bf16 backbone it
# doubled the indexing time (+91 % on 600 Caltech photos, idle machine), and with two torch
# threads on a busy machine every tiny beam step waited at an OpenMP barrier (7-15x slower).
# Greedy costs 2-5 ms a photo at either thread count through the training module, ~2.6 CPU ms
# through caption_infer.FastGreedy in bf16 (bench_caption_decoding, §12b).
INDEX_BEAM = 1


def load_default_captioner(device: str = "cpu", path: Path | None = None,
                           beam: int | None = INDEX_BEAM) -> tuple[Captioner | None, str | None]:
    """(captioner, None), or (None, why not) when the shipped weights are missing or unusable."""
    path = path or captioner_file()
    if not path.is_file():
        return None, default_captioner_status() or f"the offline captioner is missing ({path})"
    from photomgr.core.models.caption_runtime import DefaultCaptioner
    from photomgr.core.models.cpu_inference import image_tower_dtype

    try:
        # the decoder runs in the backbone's precision: bfloat16 where the CPU has native bf16
        # (2x less CPU per photo; docs/benchmarks.md section 12), float32 elsewhere
        return DefaultCaptioner.from_file(path, device=device, beam=beam,
                                          greedy_dtype=image_tower_dtype(device)), None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return None, f"the offline captioner could not be loaded ({exc}); reinstall photomgr"


def load_coca_captioner(device: str = "cpu", *,
                        cache_dir: Path | None = None) -> tuple[Captioner | None, str | None]:
    """(CoCa captioner, None), or (None, why not) when its weights are not on this machine."""
    from photomgr.core.models.base import ModelUnavailable

    path = coca_weights(cache_dir)
    if path is None:
        return None, coca_status(cache_dir)
    from photomgr.core.models.coca_captioner import CocaCaptioner

    try:
        return CocaCaptioner(COCA_MODEL, COCA_PRETRAINED, path, device=device), None
    except ModelUnavailable as exc:
        return None, str(exc)
