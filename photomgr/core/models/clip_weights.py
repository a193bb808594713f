"""Where CLIP weights come from: an explicit file, the Hugging Face cache, or a download.

Order: the `weights_path` argument, then $PHOTOMGR_CLIP_WEIGHTS, then the Hugging Face hub cache
that open_clip's own `pretrained=` download fills (looked up offline, so weights fetched by any
open_clip user are found), and only then, if allowed, a download with huggingface_hub's
`hf_hub_download` into that same cache. Repository and file names are open_clip's: the tags
photomgr offers are listed in `KNOWN_SOURCES` (checked against open_clip's table by a test) so
that finding their files never imports open_clip (and torch, ~2 s); other tags are looked up in
open_clip's pretrained table.

A download reports progress and honours cancel through a tqdm class handed to huggingface_hub,
which removes its partial file on any failure. Before it starts, one cheap connection attempt
with a short deadline makes "no network" fail in seconds: huggingface_hub would otherwise retry
for about half a minute, and a desktop app must never hang on "Loading model...".
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photomgr.core.models.base import DownloadCancelled, ModelUnavailable

ENV_WEIGHTS = "PHOTOMGR_CLIP_WEIGHTS"
CONNECT_TIMEOUT = 5.0  # seconds to reach the server: no network must fail in seconds
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClipSource:
    """One pretrained tag's home on the Hugging Face hub, per open_clip's pretrained table."""

    model_name: str
    pretrained: str
    repo_id: str
    filenames: tuple[str, ...]  # preferred first: safetensors before pickled checkpoints
    quick_gelu: bool


_OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
KNOWN_SOURCES = {
    ("ViT-B-32", "laion2b_s34b_b79k"): ClipSource(
        "ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", _OPEN_CLIP_FILES, False),
    ("ViT-B-32", "openai"): ClipSource(
        "ViT-B-32", "openai", "timm/vit_base_patch32_clip_224.openai", _OPEN_CLIP_FILES, True),
    # The captioner that goes with CLIP (captioning.py): CoCa, fine-tuned on MS-COCO captions
    ("coca_ViT-B-32", "mscoco_finetuned_laion2b_s13b_b90k"): ClipSource(
        "coca_ViT-B-32", "mscoco_finetuned_laion2b_s13b_b90k",
        "laion/mscoco_finetuned_CoCa-ViT-B-32-laion2B-s13B-b90k", _OPEN_CLIP_FILES, False),
}


def open_clip_source(model_name: str, pretrained: str) -> ClipSource:
    """The source as open_clip's pretrained table gives it (imports open_clip)."""
    import open_clip
    from open_clip.constants import HF_WEIGHTS_NAME
    from open_clip.pretrained import _get_safe_alternatives, get_pretrained_cfg

    cfg = get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
        raise ModelUnavailable(f"unknown CLIP weights {model_name}/{pretrained} (known tags: {known})")
    hub = cfg.get("hf_hub", "")
    if not hub:
        raise ModelUnavailable(f"CLIP weights {model_name}/{pretrained} have no Hugging Face source; "
                               "use `photomgr model use clip --weights PATH` with a downloaded checkpoint")
    # open_clip's convention: "org/repo/" means the default file name, "org/repo/file" a given one
    repo_id, filename = os.path.split(hub)
    filename = filename or HF_WEIGHTS_NAME
    names = [*_get_safe_alternatives(filename), filename]
    return ClipSource(model_name, pretrained, repo_id, tuple(dict.fromkeys(names)),
                      bool(cfg.get("quick_gelu", False)))


def clip_source(model_name: str, pretrained: str) -> ClipSource:
    return KNOWN_SOURCES.get((model_name, pretrained)) or open_clip_source(model_name, pretrained)


def hub_cache_dir(cache_dir: Path | None = None) -> Path:
    """The Hugging Face hub cache (read at call time, so HF_HUB_CACHE set by the user counts)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def find_cached(source: ClipSource, cache_dir: Path | None = None) -> Path | None:
    """The cached checkpoint for `source`, if any; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    for filename in source.filenames:
        found = try_to_load_from_cache(source.repo_id, filename, cache_dir=str(hub_cache_dir(cache_dir)))
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def _offline_message(source: ClipSource, reason: str) -> str:
    return (f"CLIP weights for {source.model_name}/{source.pretrained} are not available offline: {reason}. "
            f"Download them on a connected machine (`photomgr model fetch`, or the file "
            f"{source.filenames[0]} from https://huggingface.co/{source.repo_id}) and use "
            f"`photomgr model use clip --weights PATH`, or set {ENV_WEIGHTS}.")


def _explicit(path: Path | str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelUnavailable(f"CLIP weights file not found: {path}")
    return path


def resolve_clip_weights(
    model_name: str = "ViT-B-32",
    pretrained: str = "laion2b_s34b_b79k",
    *,
    weights_path: Path | None = None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """A local checkpoint file for the CLIP weights; see the module docstring for the order.

    Raises ModelUnavailable (not found and no download, or the download failed) or
    DownloadCancelled (cancel was set; nothing partial is left behind).
    """
    if weights_path is not None:
        return _explicit(weights_path)
    if os.environ.get(ENV_WEIGHTS):
        return _explicit(os.environ[ENV_WEIGHTS])
    source = clip_source(model_name, pretrained)
    cached = find_cached(source, cache_dir)
    if cached is not None:
        return cached
    if not allow_download:
        raise ModelUnavailable(_offline_message(source, "not downloaded yet"))
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise ModelUnavailable(_offline_message(source, "HF_HUB_OFFLINE is set"))
    return download_to_cache(source, hub_cache_dir(cache_dir), progress=progress, cancel=cancel)


@dataclass(frozen=True)
class ClipAvailability:
    available: bool
    weights: Path | None
    message: str  # for the user: where the weights are, or what to do to get them


def clip_availability(pretrained: str = "laion2b_s34b_b79k", *, model_name: str = "ViT-B-32",
                      weights_path: Path | None = None, cache_dir: Path | None = None) -> ClipAvailability:
    """Can CLIP be used on this machine now? Checks files only: no network, no model, and for
    the tags in KNOWN_SOURCES no open_clip import, so a status line or menu can ask at once."""
    if importlib.util.find_spec("open_clip") is None:
        return ClipAvailability(False, None, "CLIP support is not installed (the open_clip_torch package)")
    try:
        path = resolve_clip_weights(model_name, pretrained, weights_path=weights_path, cache_dir=cache_dir,
                                    allow_download=False)
    except ModelUnavailable as exc:
        return ClipAvailability(False, None, str(exc))
    return ClipAvailability(True, path, f"CLIP {model_name} ({pretrained}) weights: {path}")


# -- downloading ---------------------------------------------------------------------------------


def hub_endpoint() -> str:
    """$HF_ENDPOINT read now (huggingface_hub reads it once, at import), else the hub's."""
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def check_reachable(url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """One TCP connection to `url`'s host within `timeout` seconds, or ModelUnavailable.

    The name lookup runs in a thread because getaddrinfo has no timeout of its own, and a broken
    DNS setup can stall it far longer than `timeout`.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelUnavailable(f"cannot download from {url!r}")
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=connect, name="hub-reachable", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise ModelUnavailable(f"cannot reach {host}: no answer within {timeout:.0f} s (no network?)")
    if outcome[0] is not None:
        raise ModelUnavailable(f"cannot reach {host}: {outcome[0]} (no network?)")


def _reporting_tqdm(progress: Progress | None, cancel: threading.Event | None) -> type[Any]:
    """A tqdm class for huggingface_hub that forwards (done, total) and stops on cancel.

    It draws nothing itself (the caller draws its own bar, or the GUI its dialog). Raising from
    update() aborts the transfer; huggingface_hub then deletes its partial file.
    """
    from huggingface_hub.utils import tqdm as hf_tqdm

    class ReportingTqdm(hf_tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.done = int(kwargs.get("initial") or 0)
            if progress is not None:
                progress(self.done, int(self.total or 0))

        def update(self, n: float | None = 1) -> bool | None:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled")
            self.done += int(n or 0)
            if progress is not None:
                progress(self.done, int(self.total or 0))
            return super().update(n)

    return ReportingTqdm


def download_to_cache(source: ClipSource, cache_dir: Path, *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> Path:
    """Download the first of `source.filenames` the hub has into the hub cache."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    endpoint = hub_endpoint()
    try:
        check_reachable(endpoint)
    except ModelUnavailable as exc:
        raise ModelUnavailable(_offline_message(source, str(exc))) from exc
    tqdm_class = _reporting_tqdm(progress, cancel)
    errors = []
    for filename in source.filenames:
        try:
            path = hf_hub_download(source.repo_id, filename, cache_dir=str(cache_dir), endpoint=endpoint,
                                   etag_timeout=CONNECT_TIMEOUT, tqdm_class=tqdm_class)
        except DownloadCancelled:
            raise
        except LocalEntryNotFoundError as exc:  # the connection failed after all
            raise ModelUnavailable(_offline_message(source, str(exc))) from exc
        except EntryNotFoundError:
            errors.append(f"{filename}: not found")
            continue
        except HfHubHTTPError as exc:
            raise ModelUnavailable(_offline_message(source, f"download failed: {exc}")) from exc
        except Exception as exc:  # the HTTP client's own errors (a reset, a timeout), a full disk
            raise ModelUnavailable(_offline_message(source, f"download failed: {exc}")) from exc
        return Path(path)
    raise ModelUnavailable(_offline_message(source, "; ".join(errors) or "nothing to download"))
