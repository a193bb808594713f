"""CLIP backend and weight resolution, offline, with a tiny random open_clip model.

The tiny model is registered as an open_clip architecture with a pretrained tag whose hub
entry has the same shape as the real ones, so resolution, caching, downloading and loading all
run the production code; only its size differs from ViT-B-32.
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photomgr.core.models.base import DownloadCancelled, ModelUnavailable
from photomgr.core.models.clip_backend import ClipEmbedder, ClipTextEncoder, check_clip_weights
from photomgr.core.models.clip_weights import (
    KNOWN_SOURCES,
    clip_availability,
    clip_source,
    open_clip_source,
    resolve_clip_weights,
)
from photomgr.core.models.registry import load_embedder, load_text_encoder, model_status
from photomgr.core.models.text_numpy.clip_text import NumpyClipTextEncoder
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


def test_loaded_weights_are_the_checkpoint(tiny_clip: TinyClip,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file

    monkeypatch.setenv("PHOTOMGR_CPU_PRECISION", "fp32")  # bf16 image towers: test_cpu_inference
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


def test_known_tags_match_open_clips_table() -> None:
    """The tags photomgr offers are found without importing open_clip: their table must say
    what open_clip's says."""
    for (model, tag), source in KNOWN_SOURCES.items():
        assert source == open_clip_source(model, tag)


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_text_encoder_alone_gives_the_full_models_vectors(tiny_clip: TinyClip, tmp_path: Path,
                                                           fmt: str) -> None:
    weights = tmp_path / f"w.{fmt}"
    weights.write_bytes(tiny_clip.safetensors_bytes if fmt == "safetensors" else tiny_clip.bin_bytes)
    # open_clip's text tower alone (no extract yet), then the numpy tower reading the extract
    # that loading the full model wrote (test_text_numpy_clip.py covers the extract itself)
    torch_text = ClipTextEncoder(TINY_MODEL, TINY_TAG, weights)
    assert not hasattr(torch_text.model, "visual")
    full = _load(clip_weights=weights)
    numpy_text = load_text_encoder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG,
                                   clip_weights=weights, device="cpu")
    assert isinstance(numpy_text, NumpyClipTextEncoder)
    for text, atol in ((torch_text, 1e-6), (numpy_text, 1e-5)):
        assert text.info == full.info
        for prompts in (["dog"], ["a photo of my dog Rex", "{} on a beach"]):
            np.testing.assert_allclose(text.embed_label(prompts), full.embed_label(prompts), atol=atol)
        np.testing.assert_allclose(text.embed_query("a dog on a beach"), full.embed_query("a dog on a beach"),
                                   atol=atol)


def test_text_encoder_rejects_other_weights(tiny_clip: TinyClip, tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="could not load CLIP"):
        ClipTextEncoder(TINY_MODEL, TINY_TAG, bad)


def test_weights_are_checked_by_names_and_shapes(tiny_clip: TinyClip, tmp_path: Path) -> None:
    import pickle

    from safetensors.torch import save_file

    for name, data in (("w.safetensors", tiny_clip.safetensors_bytes), ("w.bin", tiny_clip.bin_bytes)):
        (tmp_path / name).write_bytes(data)
        check_clip_weights(tmp_path / name, TINY_MODEL, TINY_TAG)  # the right file passes
    cases = {
        "text.safetensors": (b"hello " * 100, "not a safetensors or PyTorch weights file"),
        "code.pt": (pickle.dumps({"run": print}), "not a safetensors or PyTorch weights file"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelUnavailable, match=message):
            check_clip_weights(tmp_path / name, TINY_MODEL, TINY_TAG)
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(3)}, str(other))
    with pytest.raises(ModelUnavailable, match=r"62 of its 62 tensors missing.*1 unknown tensors"):
        check_clip_weights(other, TINY_MODEL, TINY_TAG)
    # The tiny model's weights are not ViT-B-32's: wrong shapes and missing layers
    with pytest.raises(ModelUnavailable, match="does not hold CLIP ViT-B-32 weights"):
        check_clip_weights(tmp_path / "w.safetensors", "ViT-B-32", "laion2b_s34b_b79k")


def test_availability_of_the_offered_tags_needs_no_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import sys; from photomgr.core.services.model_choice import ModelChoice; "
            "c = ModelChoice('clip').clip(); "
            "print(c.available, 'torch' in sys.modules, 'open_clip' in sys.modules)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HF_HUB_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_availability(tiny_clip: TinyClip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = clip_availability(TINY_TAG, model_name=TINY_MODEL)
    assert found.available and found.weights == tiny_clip.checkpoint
    missing = clip_availability(TINY_TAG, model_name=TINY_MODEL, cache_dir=tmp_path)
    assert not missing.available and missing.weights is None
    assert "--weights PATH" in missing.message
    gone = clip_availability(TINY_TAG, model_name=TINY_MODEL, weights_path=tmp_path / "nope.safetensors")
    assert not gone.available and "not found" in gone.message
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert "not installed" in clip_availability(TINY_TAG, model_name=TINY_MODEL).message


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


class _Hub:
    """A loopback server that answers like the Hugging Face hub's /resolve/ endpoint: HEAD gives
    the commit, ETag and size; GET streams the file; a missing file is a 404 "EntryNotFound".
    huggingface_hub is pointed at it through $HF_ENDPOINT, as a user would for a mirror."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        self.slow = threading.Event()  # set: stream slowly, so a test can cancel mid-way
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _head(self) -> bytes | None:
                outer.requests.append(f"{self.command} {self.path}")
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if "/resolve/main/" not in self.path or body is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("X-Repo-Commit", TINY_COMMIT)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                self.send_response(200)
                self.send_header("X-Repo-Commit", TINY_COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return body

            def do_HEAD(self) -> None:
                self._head()

            def do_GET(self) -> None:
                body = self._head()
                if body is None:
                    return
                try:
                    for i in range(0, len(body), 65536):
                        self.wfile.write(body[i:i + 65536])
                        if outer.slow.is_set():
                            time.sleep(0.01)
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
def server(tiny_clip: TinyClip, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Hub]:
    from huggingface_hub import constants

    # Only the bin is served: the preferred safetensors 404s, so the fallback runs too
    srv = _Hub({"open_clip_pytorch_model.bin": tiny_clip.bin_bytes})
    monkeypatch.setenv("HF_ENDPOINT", srv.url)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 65536)  # several progress reports
    yield srv
    srv.close()


def _leftovers(hub: Path) -> list[Path]:
    """Downloaded bytes, whole or partial (not huggingface_hub's locks and bookkeeping)."""
    return [p for p in hub.rglob("*") if (p.is_file() or p.is_symlink())
            and ({"blobs", "snapshots"} & set(p.parts) or ".incomplete" in p.name)]


def test_download_with_progress_into_the_hub_cache(server: _Hub, tmp_path: Path, no_network: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    seen: list[tuple[int, int]] = []
    path = resolve_clip_weights(TINY_MODEL, TINY_TAG, allow_download=True,
                                progress=lambda done, total: seen.append((done, total)))
    size = len(server.files["open_clip_pytorch_model.bin"])
    assert path.read_bytes() == server.files["open_clip_pytorch_model.bin"]
    # huggingface_hub's own cache layout: a snapshot entry for the commit the server named
    assert path.parent == hub / f"models--{TINY_REPO.replace('/', '--')}" / "snapshots" / TINY_COMMIT
    assert seen[-1] == (size, size) and len(seen) > 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert any(r.endswith("open_clip_model.safetensors") for r in server.requests)  # tried first
    assert not list(hub.rglob("*.incomplete"))
    # found offline from now on, and loadable
    assert resolve_clip_weights(TINY_MODEL, TINY_TAG, allow_download=False) == path
    assert _load().info.image_dim == 32


def test_download_cancel_leaves_nothing(server: _Hub, tmp_path: Path, no_network: None) -> None:
    hub = tmp_path / "hub"
    cancel = threading.Event()
    server.slow.set()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=hub, allow_download=True,
                             progress=progress, cancel=cancel)
    assert _leftovers(hub) == []
    with pytest.raises(ModelUnavailable):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=hub, allow_download=False)


def test_interrupted_download_leaves_nothing(server: _Hub, tmp_path: Path, no_network: None) -> None:
    """Ctrl-C arrives as KeyboardInterrupt in the middle of the transfer."""
    hub = tmp_path / "hub"
    server.slow.set()

    def progress(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=hub, allow_download=True, progress=progress)
    assert _leftovers(hub) == []


def test_unreachable_hub_fails_within_seconds(tiny_clip: TinyClip, tmp_path: Path, no_network: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # A port nothing listens on: refused at once, where huggingface_hub alone retries for ~30 s
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match=r"cannot reach 127\.0\.0\.1"):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path / "hub", allow_download=True)
    assert time.monotonic() - started < 5


def test_offline_mode_is_honoured(tiny_clip: TinyClip, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE"):
        resolve_clip_weights(TINY_MODEL, TINY_TAG, cache_dir=tmp_path / "hub", allow_download=True)
