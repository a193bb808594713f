"""Which model the library uses, and loading it with an offline-safe fallback.

Two settings matter while a switch is under way: the *target* model (what the user chose,
being embedded in the background) and the *active* model (whose vectors serve tags, search and
Find similar). The active model only changes once every photo has a vector for the target, so
the old vectors stay usable until the new ones are complete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.library.settings import Settings
from photomgr.core.models.base import Embedder, ModelUnavailable, TextEncoder
from photomgr.core.models.clip_weights import ClipAvailability, clip_availability
from photomgr.core.models.registry import DEFAULT_CLIP_MODEL, load_embedder, load_text_encoder

BACKEND_KEY = "model.backend"
PRETRAINED_KEY = "model.clip_pretrained"
WEIGHTS_KEY = "model.clip_weights"
ACTIVE_KEY = "model.active_id"

DEFAULT_BACKEND = "default"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"


@dataclass(frozen=True)
class ModelChoice:
    backend: str = DEFAULT_BACKEND
    clip_pretrained: str = DEFAULT_PRETRAINED
    clip_weights: Path | None = None

    @classmethod
    def read(cls, settings: Settings) -> ModelChoice:
        weights = settings.get(WEIGHTS_KEY)
        return cls(settings.get(BACKEND_KEY, DEFAULT_BACKEND) or DEFAULT_BACKEND,
                   settings.get(PRETRAINED_KEY, DEFAULT_PRETRAINED) or DEFAULT_PRETRAINED,
                   Path(weights) if weights else None)

    def write(self, settings: Settings) -> None:
        settings.set(BACKEND_KEY, self.backend)
        settings.set(PRETRAINED_KEY, self.clip_pretrained)
        settings.set(WEIGHTS_KEY, str(self.clip_weights) if self.clip_weights else None)

    def clip(self) -> ClipAvailability:
        """Is CLIP usable with this choice's weights setting? The one answer the CLI's `model`
        command, `model use` and the GUI's Model menu all show (files only: instant)."""
        return clip_availability(self.clip_pretrained, model_name=DEFAULT_CLIP_MODEL,
                                 weights_path=self.clip_weights)


@dataclass
class LoadedModel:
    embedder: Embedder
    warning: str | None  # set when the chosen model could not load and the default stands in


def load_chosen(
    choice: ModelChoice,
    *,
    cache_dir: Path | None = None,
    allow_download: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    describe: bool = False,
) -> LoadedModel:
    """Load the chosen model; if CLIP's weights are unavailable, carry on with the default.

    describe=True: the embedder also writes descriptions (see registry.load_embedder)."""
    if choice.backend == DEFAULT_BACKEND:
        return LoadedModel(load_embedder(DEFAULT_BACKEND, cache_dir=cache_dir, describe=describe), None)
    try:
        embedder = load_embedder(
            choice.backend, clip_pretrained=choice.clip_pretrained, clip_weights=choice.clip_weights,
            cache_dir=cache_dir, allow_download=allow_download, progress=progress, cancel=cancel,
            describe=describe)
        return LoadedModel(embedder, None)
    except ModelUnavailable as exc:
        fallback = load_embedder(DEFAULT_BACKEND, cache_dir=cache_dir, describe=describe)
        return LoadedModel(fallback, f"{exc} -- using the offline default model for now")


def active_model_id(settings: Settings) -> str | None:
    return settings.get(ACTIVE_KEY)


def set_active_model_id(settings: Settings, model_id: str) -> None:
    settings.set(ACTIVE_KEY, model_id)


def backend_of(model_id: str) -> str:
    """Model ids start with their backend: "default:..." or "clip:<arch>:<pretrained>"."""
    return model_id.split(":", 1)[0]


def _check_same_model(model_id: str, loaded_id: str) -> None:
    if loaded_id != model_id:
        raise ModelUnavailable(
            f"the library's vectors were made by {model_id}, but this photomgr provides "
            f"{loaded_id}; run `photomgr index` to re-embed")


def _clip_args(model_id: str, choice: ModelChoice) -> tuple[str, str, Path | None]:
    """(architecture, pretrained tag, the chosen weights file if it is for that tag)."""
    _, arch, pretrained = [*model_id.split(":"), "", ""][:3]
    return arch, pretrained, choice.clip_weights if choice.clip_pretrained == pretrained else None


def load_for_model_id(model_id: str, choice: ModelChoice, *, cache_dir: Path | None = None,
                      describe: bool = False) -> Embedder:
    """The whole embedder that made `model_id`'s vectors, offline (describe: see load_chosen)."""
    if backend_of(model_id) == "clip":
        arch, pretrained, weights = _clip_args(model_id, choice)
        embedder = load_embedder("clip", clip_model=arch, clip_pretrained=pretrained, clip_weights=weights,
                                 cache_dir=cache_dir, allow_download=False, describe=describe)
    else:
        embedder = load_embedder(DEFAULT_BACKEND, cache_dir=cache_dir, describe=describe)
    _check_same_model(model_id, embedder.info.model_id)
    return embedder


def text_encoder_for_model_id(model_id: str, choice: ModelChoice, *,
                              cache_dir: Path | None = None) -> TextEncoder:
    """Only the text side of the model that made `model_id`'s vectors (label texts, queries):
    what `labels add` and `search` need, loaded without the image tower."""
    if backend_of(model_id) == "clip":
        arch, pretrained, weights = _clip_args(model_id, choice)
        encoder = load_text_encoder("clip", clip_model=arch, clip_pretrained=pretrained, clip_weights=weights,
                                    cache_dir=cache_dir)
    else:
        encoder = load_text_encoder(DEFAULT_BACKEND, cache_dir=cache_dir)
    _check_same_model(model_id, encoder.info.model_id)
    return encoder


def expected_model_id(choice: ModelChoice) -> str:
    """The model id `load_chosen` will give when the chosen model loads, without loading it."""
    if choice.backend == "clip":
        from photomgr.core.models.registry import clip_model_id

        return clip_model_id(DEFAULT_CLIP_MODEL, choice.clip_pretrained)
    from photomgr.core.models.default_ids import MODEL_ID  # not default_backend: that imports torch

    return MODEL_ID


class LazyEmbedder:
    """An `Embedder` that loads its model on first real use.

    Loading takes seconds; a re-index that finds nothing new should not pay for it. Safe to
    touch from the decode threads: the first caller loads, the others wait for it.
    """

    def __init__(self, choice: ModelChoice, *, cache_dir: Path | None = None,
                 describe: bool = False) -> None:
        self.choice = choice
        self.cache_dir = cache_dir
        self.describe = describe  # load the captioner too (the library's descriptions setting)
        self.expected_id = expected_model_id(choice)
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self.error: Exception | None = None  # a background load that failed (get raises it)
        self._thread: threading.Thread | None = None

    @classmethod
    def ready(cls, embedder: Embedder) -> LazyEmbedder:
        """Wrap a model that is already loaded (the GUI worker's, an evaluation's)."""
        lazy = cls.__new__(cls)
        lazy.choice, lazy.cache_dir = ModelChoice(embedder.info.backend), None
        lazy.describe = False  # whatever the loaded model was asked for
        lazy.expected_id = embedder.info.model_id
        lazy._lock = threading.Lock()
        lazy._loaded = LoadedModel(embedder, None)
        lazy.error, lazy._thread = None, None
        return lazy

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def in_background(self) -> bool:
        """start_loading() was called: a scan goes on without waiting for the model."""
        return self._thread is not None

    @property
    def finished(self) -> bool:
        """Loaded, or its background load failed (see `error`)."""
        return self._loaded is not None or self.error is not None

    def start_loading(self, on_done: Callable[[], None] | None = None) -> None:
        """Load in a thread of its own, now: the caller goes on (the GUI's first index records
        photos and thumbnails while the model loads) and `get` waits for the load. A failed
        load is kept in `error` and raised by `get`, not tried again. `on_done` runs in that
        thread once the load ends, either way."""
        if self._thread is not None or self._loaded is not None:
            return

        def load() -> None:
            try:
                self.get()
            except Exception as exc:  # kept for whoever asks next; the thread must not die loud
                self.error = exc
            finally:
                if on_done is not None:
                    on_done()

        self._thread = threading.Thread(target=load, name="photomgr-model-load", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until a background load has ended (at once when none was started)."""
        if self._thread is not None:
            self._thread.join()

    def get(self) -> Embedder:
        with self._lock:
            if self.error is not None:
                raise self.error
            if self._loaded is None:
                self._loaded = load_chosen(self.choice, cache_dir=self.cache_dir, describe=self.describe)
            return self._loaded.embedder

    @property
    def warning(self) -> str | None:
        return self._loaded.warning if self._loaded is not None else None

    @property
    def model_id(self) -> str:
        """The real id once loaded (a fallback may differ from the choice), else the expected one."""
        return self.get().info.model_id if self.loaded else self.expected_id
