"""CLIP backend and weight resolution, offline, with a tiny random open_clip model.

The tiny model is registered as an open_clip architecture with a pretrained tag whose hub
entry has the same shape as the real ones, so resolution, caching, downloading and loading all
run the production code; only its size differs from ViT-B-32.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photomgr.core.models import clip_weights
from photomgr.core.models.base import DownloadCancelled, ModelUnavailable
from photomgr.core.models.clip_backend import ClipEmbedder
from photomgr.core.models.clip_weights import clip_source, resolve_clip_weights
from photomgr.core.models.registry import load_embedder, model_status
from tests.core.models.conftest import TINY_COMMIT, TINY_MODEL, TINY_REPO, TINY_TAG, TinyClip


def _load(**kwargs: object) -> ClipEmbedder:
    embedder = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu",
                             **kwargs)  # type: ignore[arg-type]
    assert isinstance(embedder, ClipEmbedder)
    return embedder


def test_loads_from_the_hub_cache_offline(tiny_clip: TinyClip, no_network: None) -> None:
    embedder = _load()
    assert embedder.info.model_id == f"clip:{TINY_MODEL}:{TINY_TAG}"
    assert embedder.info.shared_space and embedder.info.image_dim == embedder.info.label_dim == 32
    assert embedder.input_size == 64
    photos = [Image.new("RGB", (120, 90), c) for c in ((255, 0, 0), (0, 0, 255))]
    batch = torch.stack([embedder.preprocess(p) for p in photos])
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    out = embedder.embed_images(batch)
    assert out.image.shape == (2, 32) and out.image.dtype == np.float32
    assert out.label is out.image
    np.testing.assert_allclose(np.linalg.norm(out.image, axis=1), 1.0, atol=1e-5)
    for vec in (embedder.embed_label(["dog"]), embedder.embed_query("a dog on a beach")):
        assert vec.shape == (32,) and vec.dtype == np.float32
        assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(embedder.embed_label(["dog"]), embedder.embed_label(["car"]))


def test_loaded_weights_are_the_checkpoint(tiny_clip: TinyClip) -> None:
    from safetensors.torch import load_file

    embedder = _load()
    expected = load_file(str(tiny_clip.checkpoint))
    state = embedder.model.state_dict()
    for key in ("visual.conv1.weight", "token_embedding.weight", "text_projection"):
        assert torch.equal(state[key], expected[key])


def test_preprocess_is_thread_safe(tiny_clip: TinyClip) -> None:
    embedder = _load()
    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)) for _ in range(6)]
    serial = [embedder.preprocess(p) for p in photos]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(embedder.preprocess, photos * 4))
    assert all(torch.equal(x, serial[i % 6]) for i, x in enumerate(parallel))


def test_explicit_weights_path_and_env(tiny_clip: TinyClip, tmp_path: Path, no_network: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    st = tmp_path / "mine.safetensors"
    st.write_bytes(tiny_clip.safetensors_bytes)
    assert _load(clip_weights=st).info.image_dim == 32
    pt = tmp_path / "mine.bin"  # a pickled checkpoint goes through torch.load(weights_only=True)
    pt.write_bytes(tiny_clip.bin_bytes)
    assert _load(clip_weights=pt).info.image_dim == 32
    monkeypatch.setenv("PHOTOMGR_CLIP_WEIGHTS", str(st))
    assert resolve_clip_weights(TINY_MODEL, TINY_TAG, allow_download=False) == st
    with pytest.raises(ModelUnavailable, match="not found"):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, weights_path=tmp_path / "missing.safetensors")


def test_a_bad_checkpoint_is_a_clear_error(tiny_clip: TinyClip, tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="could not load CLIP"):
        _load(clip_weights=bad)


def test_missing_weights_offline_fail_fast_with_advice(tiny_clip: TinyClip, tmp_path: Path,
                                                       no_network: None) -> None:
    empty = tmp_path / "empty-hub"
    with pytest.raises(ModelUnavailable, match="--weights PATH"):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=empty, allow_download=False)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="not available offline"):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=empty, allow_download=True)
    assert time.monotonic() - started < 10
    assert not list(empty.rglob("*.part")) and not list(empty.rglob("download-*"))


def test_real_tags_resolve_to_open_clip_repos() -> None:
    laion = clip_source("ViT-B-32", "laion2b_s34b_b79k")
    assert laion.repo_id == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert laion.filenames[0].endswith(".safetensors") and not laion.quick_gelu
    assert clip_source("ViT-B-32", "openai").quick_gelu
    with pytest.raises(ModelUnavailable, match="unknown CLIP weights"):
        clip_source("ViT-B-32", "no-such-tag")


def test_status_reports_missing_then_ready(tiny_clip: TinyClip, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ready = model_status("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu")
    assert ready["state"] == "ready" and ready["weights"] == str(tiny_clip.checkpoint)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    missing = model_status("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu")
    assert missing["state"] == "weights missing" and missing["weights"] is None
    assert "photomgr model use clip --weights" in str(missing["message"])
    assert missing["model_id"] == f"clip:{TINY_MODEL}:{TINY_TAG}"


# -- downloading from a local server ---------------------------------------------------------------


class _Server:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if self.path.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", "/files/" + self.path.split("/", 2)[2])
                    self.send_header("X-Repo-Commit", TINY_COMMIT)
                    self.end_headers()
                    return
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 65536):
                        self.wfile.write(body[i:i + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tiny_clip: TinyClip, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    # Only the bin is served: the preferred safetensors 404s, so the fallback runs too
    srv = _Server({"open_clip_pytorch_model.bin": tiny_clip.bin_bytes})
    monkeypatch.setattr(clip_weights, "weights_url",
                        lambda source, filename: f"{srv.url}/redirect/{source.repo_id}/{filename}")
    monkeypatch.setattr(clip_weights, "CHUNK", 65536)
    yield srv
    srv.close()


def test_download_with_progress_into_the_hub_cache(server: _Server, tmp_path: Path, no_network: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    seen: list[tuple[int, int]] = []
    path = resolve_clip_weights(TINY_MODEL, TINY_TAG, allow_download=True,
                                progress=lambda done, total: seen.append((done, total)))
    size = len(server.files["open_clip_pytorch_model.bin"])
    assert path.read_bytes() == server.files["open_clip_pytorch_model.bin"]
    assert path == hub / f"models--{TINY_REPO.replace('/', '--')}" / "snapshots" / TINY_COMMIT / path.name
    assert seen[-1] == (size, size) and len(seen) > 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert any(r.endswith("open_clip_model.safetensors") for r in server.requests)  # tried first
    # found offline from now on, and loadable
    assert resolve_clip_weights(TINY_MODEL, TINY_TAG, allow_download=False) == path
    assert _load().info.image_dim == 32


def test_download_cancel_leaves_nothing(server: _Server, tmp_path: Path, no_network: None) -> None:
    hub = tmp_path / "hub"
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=hub, allow_download=True,
                             progress=progress, cancel=cancel)
    assert not [p for p in hub.rglob("*") if p.is_file()]
    with pytest.raises(ModelUnavailable):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=hub, allow_download=False)
