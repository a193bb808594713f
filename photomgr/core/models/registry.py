"""Choosing and loading an embedder backend, and describing its state for `photomgr model`."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path

from photomgr.core.models.base import Embedder, ModelUnavailable, TextEncoder

BACKENDS = ("default", "clip")
DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "laion2b_s34b_b79k"


def pick_device() -> str:
    """cuda if available, else Apple's mps, else cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


# What import_model_libraries imports: every backend needs them (see there).
MODEL_LIBRARIES = ("torch", "torchvision", "timm", "photomgr.core.models.default_backend")
# Held while import_model_libraries runs: two threads importing torch at once can fail
# ("'torch._C' is not a package", pytorch/pytorch#182560), and the window's model thread may
# start a load while the splash's import is still under way (gui/startup.py).
_IMPORTING = threading.Lock()


def import_model_libraries() -> None:
    """Import torch, torchvision and timm here and now, without loading any model.

    Every backend needs them (the default builds its network with timm; open_clip imports timm
    and torchvision), and their first import holds the GIL for up to ~0.2-0.3 s at a time while
    their C extensions initialise: whatever else runs Python meanwhile stands still. The GUI
    calls this before its window is shown (gui/startup.py), so that the model thread, which
    loads the model while the gallery is live, finds them imported. The rest of a model load
    (open_clip's own modules, weights, the first forward pass) gives the GIL back often.
    Raises what a broken install raises (ImportError, OSError); loading the model will too.
    A model load in another thread meanwhile waits for it (`wait_for_model_imports`).
    """
    with _IMPORTING:
        for name in MODEL_LIBRARIES:
            importlib.import_module(name)


def wait_for_model_imports() -> None:
    """Until an import_model_libraries() under way in another thread has ended (at once when
    none is): a model load must not import torch beside it."""
    with _IMPORTING:
        pass


def clip_model_id(model: str = DEFAULT_CLIP_MODEL, pretrained: str = DEFAULT_CLIP_PRETRAINED) -> str:
    return f"clip:{model}:{pretrained}"


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown model backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def load_embedder(
    backend: str,
    *,
    clip_model: str = DEFAULT_CLIP_MODEL,
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED,
    clip_weights: Path | None = None,
    cache_dir: Path | None = None,
    allow_download: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    device: str | None = None,
    describe: bool = False,
) -> Embedder:
    """Load a backend ready to embed. Raises ModelUnavailable with a user-facing message.

    `cache_dir` is the library's cache folder: the default backend keeps its class-text matrix
    there. CLIP weights are looked up in open_clip's own (Hugging Face) cache, not there.
    describe=True: `embed_images` also writes a description per photo when the backend's
    captioner is usable (core/models/captioning.py); when it is not, the model still loads and
    `embedder.describer_status` says why. Never raises because of the captioner.
    """
    _check_backend(backend)
    wait_for_model_imports()
    device = device or pick_device()
    if backend == "default":
        from photomgr.core.models.default_backend import DefaultEmbedder

        return DefaultEmbedder(device=device, cache_dir=cache_dir, describe=describe)
    from photomgr.core.models.clip_backend import ClipEmbedder
    from photomgr.core.models.clip_weights import resolve_clip_weights

    path = resolve_clip_weights(clip_model, clip_pretrained, weights_path=clip_weights,
                                allow_download=allow_download, progress=progress, cancel=cancel)
    embedder = ClipEmbedder(clip_model, clip_pretrained, path, device=device, describe=describe)
    from photomgr.core.models.text_numpy.clip_text import extract_from_loaded

    # The text tower's tensors are in memory now: written once, `search` never needs torch after
    extract_from_loaded(clip_model, clip_pretrained, path, embedder.model)
    return embedder


def load_text_encoder(
    backend: str,
    *,
    clip_model: str = DEFAULT_CLIP_MODEL,
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED,
    clip_weights: Path | None = None,
    cache_dir: Path | None = None,
    device: str | None = None,
) -> TextEncoder:
    """Only the text side of a backend, for label texts and search queries; never downloads.

    `labels add` and `search` need no image tower, and no torch: the default model's MiniLM runs
    in numpy, and so does CLIP's text tower once its weights have been extracted from the
    checkpoint (text_numpy/clip_text.py; the first use extracts them with torch).
    """
    _check_backend(backend)
    if backend == "default":  # no image network, and no torch: MiniLM runs in numpy
        from photomgr.core.models.default_text import DefaultTextEncoder

        return DefaultTextEncoder(device=device or "cpu", cache_dir=cache_dir)
    from photomgr.core.models.clip_weights import resolve_clip_weights
    from photomgr.core.models.text_numpy.clip_text import load_clip_text_encoder

    path = resolve_clip_weights(clip_model, clip_pretrained, weights_path=clip_weights, allow_download=False)
    return load_clip_text_encoder(clip_model, clip_pretrained, path, device=device)


def model_status(
    backend: str = "default",
    *,
    clip_model: str = DEFAULT_CLIP_MODEL,
    clip_pretrained: str = DEFAULT_CLIP_PRETRAINED,
    clip_weights: Path | None = None,
    device: str | None = None,
) -> dict[str, object]:
    """What `photomgr model --json` prints; cheap: checks files, loads no network and no model.

    Keys: backend, model_id, device, weights (path or None), state ("ready" |
    "weights missing" | "not installed"), message.
    """
    _check_backend(backend)
    wait_for_model_imports()
    device = device or pick_device()
    if backend == "default":
        from photomgr.core.models.default_backend import MODEL_ID, weights_file

        try:
            path: Path | None = weights_file()
            state, message = "ready", "offline default model (EfficientNet-Lite0 + MiniLM), bundled"
        except ModelUnavailable as exc:
            path, state, message = None, "not installed", str(exc)
        return {"backend": backend, "model_id": MODEL_ID, "device": device,
                "weights": str(path) if path else None, "state": state, "message": message}
    from photomgr.core.models.clip_weights import clip_availability

    clip = clip_availability(clip_pretrained, model_name=clip_model, weights_path=clip_weights)
    return {"backend": backend, "model_id": clip_model_id(clip_model, clip_pretrained), "device": device,
            "weights": str(clip.weights) if clip.weights else None,
            "state": "ready" if clip.available else "weights missing", "message": clip.message}
