"""Where CLIP weights come from: an explicit file, open_clip's Hugging Face cache, or a download.

Order: the `weights_path` argument, then $PHOTOMGR_CLIP_WEIGHTS, then the Hugging Face hub cache
that open_clip's own `pretrained=` download fills (looked up offline, so weights fetched by any
open_clip user are found), and only then, if allowed, a download into that same cache layout.
The repository and file names come from open_clip's pretrained table, not hard-coded URLs.

A download is streamed in chunks with progress and cancel, and fails fast without a network
(short connect timeout): a desktop app must never hang on "Loading model...".
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.models.base import DownloadCancelled, ModelUnavailable

ENV_WEIGHTS = "PHOTOMGR_CLIP_WEIGHTS"
CONNECT_TIMEOUT = 5.0  # seconds to reach the server: no network must fail in seconds
READ_TIMEOUT = 60.0  # seconds without a byte before a started download is given up
CHUNK = 1 << 20
MAX_REDIRECTS = 5
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClipSource:
    """One pretrained tag's home on the Hugging Face hub, per open_clip's pretrained table."""

    model_name: str
    pretrained: str
    repo_id: str
    filenames: tuple[str, ...]  # preferred first: safetensors before pickled checkpoints
    quick_gelu: bool


def clip_source(model_name: str, pretrained: str) -> ClipSource:
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


def weights_url(source: ClipSource, filename: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(source.repo_id, filename)


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


# -- downloading ---------------------------------------------------------------------------------


class _NotFound(Exception):
    pass


def _resolve_host(host: str, port: int) -> None:
    """Name lookup with a deadline: getaddrinfo has no timeout of its own, and a broken DNS
    setup can stall it for much longer than CONNECT_TIMEOUT."""
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name="dns-lookup", daemon=True)
    worker.start()
    worker.join(CONNECT_TIMEOUT)
    if not outcome:
        raise ModelUnavailable(f"cannot reach {host}: name lookup timed out (no network?)")
    if outcome[0] is not None:
        raise ModelUnavailable(f"cannot reach {host}: {outcome[0]} (no network?)")


def _open(url: str) -> tuple[http.client.HTTPResponse, dict[str, str]]:
    """GET `url` following redirects; a short connect timeout, a longer read timeout."""
    headers_seen: dict[str, str] = {}
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelUnavailable(f"cannot download from {url!r}")
        https = parts.scheme == "https"
        _resolve_host(parts.hostname, parts.port or (443 if https else 80))
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(READ_TIMEOUT)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path or "/", headers={"User-Agent": "photomgr", "Accept-Encoding": "identity"})
        response = conn.getresponse()
        # The hub answers /resolve/ with a redirect carrying the commit and etag headers
        for key in ("x-repo-commit", "x-linked-etag", "etag"):
            value = response.getheader(key)
            if value and key not in headers_seen:
                headers_seen[key] = value
        if response.status in (301, 302, 303, 307, 308):
            location = response.getheader("location") or ""
            response.close()
            conn.close()
            url = urllib.parse.urljoin(url, location)
            continue
        if response.status == 404:
            response.close()
            conn.close()
            raise _NotFound(url)
        if response.status != 200:
            response.close()
            conn.close()
            raise ModelUnavailable(f"download failed: HTTP {response.status} {response.reason} for {url}")
        return response, headers_seen
    raise ModelUnavailable(f"download failed: too many redirects for {url}")


def _chunks(response: http.client.HTTPResponse) -> Iterator[bytes]:
    while True:
        chunk = response.read(CHUNK)
        if not chunk:
            return
        yield chunk


def download_file(url: str, dest: Path, *, progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> dict[str, str]:
    """Stream `url` to `dest` (atomically: a .part file renamed at the end); return headers.

    Raises ModelUnavailable on network failure, DownloadCancelled when `cancel` is set; in both
    cases the partial file is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + f".{os.getpid()}.part")
    try:
        response, headers = _open(url)
        with response, part.open("wb") as fh:
            total = int(response.getheader("content-length") or 0)
            done = 0
            if progress:
                progress(0, total)
            for chunk in _chunks(response):
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled("download cancelled")
                fh.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if total and done != total:
                raise ModelUnavailable(f"download incomplete: {done} of {total} bytes")
        os.replace(part, dest)
        return headers
    except (OSError, http.client.HTTPException) as exc:
        raise ModelUnavailable(f"download failed: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)


_SAFE_REF = re.compile(r"^[0-9A-Za-z._-]{1,128}$")


def download_to_cache(source: ClipSource, cache_dir: Path, *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> Path:
    """Download the checkpoint into the hub cache layout, so open_clip and we both find it."""
    repo_dir = cache_dir / ("models--" + source.repo_id.replace("/", "--"))
    staging = repo_dir / "blobs" / f"download-{os.getpid()}"
    errors = []
    for filename in source.filenames:
        try:
            headers = download_file(weights_url(source, filename), staging, progress=progress, cancel=cancel)
        except _NotFound:
            errors.append(f"{filename}: not found")
            continue
        except ModelUnavailable as exc:
            raise ModelUnavailable(_offline_message(source, str(exc))) from exc
        commit = headers.get("x-repo-commit", "")
        if not _SAFE_REF.match(commit):  # a server that sends no commit: a stable local name
            commit = "photomgr-" + hashlib.sha256(source.repo_id.encode()).hexdigest()[:16]
        target = repo_dir / "snapshots" / commit / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
        (repo_dir / "refs" / "main").write_text(commit)
        return target
    raise ModelUnavailable(_offline_message(source, "; ".join(errors) or "nothing to download"))
