"""Fixtures for the model tests: a blocked network and a tiny random CLIP in a hub-style cache."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

TINY_MODEL = "photomgr-tiny"
TINY_TAG = "tiny"
TINY_REPO = "photomgr-test/tiny-clip"
TINY_COMMIT = "0123456789abcdef0123456789abcdef01234567"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection except to this machine (a test server) fails at once."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host in ("127.0.0.1", "::1", "localhost"):
            return real_connect(self, address)  # type: ignore[arg-type]
        raise OSError(101, "Network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", connect)


@dataclass
class TinyClip:
    hub: Path  # a Hugging Face hub cache folder holding the checkpoint
    checkpoint: Path  # the checkpoint inside it
    safetensors_bytes: bytes
    bin_bytes: bytes


@pytest.fixture(scope="session")
def tiny_clip_files(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    """Random tiny CLIP weights, saved once per session, as safetensors and as a torch pickle."""
    import open_clip
    from open_clip.factory import _MODEL_CONFIGS
    from safetensors.torch import save_file

    _MODEL_CONFIGS[TINY_MODEL] = TINY_CONFIG
    try:
        torch.manual_seed(0)
        model = open_clip.create_model(TINY_MODEL, pretrained=None)
    finally:
        del _MODEL_CONFIGS[TINY_MODEL]
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    root = tmp_path_factory.mktemp("tiny_clip")
    st = root / "tiny.safetensors"
    save_file(state, str(st))
    pt = root / "tiny.bin"
    torch.save(state, pt)
    hub = root / "hub"
    snapshot = hub / f"models--{TINY_REPO.replace('/', '--')}" / "snapshots" / TINY_COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(st.read_bytes())
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text(TINY_COMMIT)
    return TinyClip(hub, snapshot / "open_clip_model.safetensors", st.read_bytes(), pt.read_bytes())


@pytest.fixture
def tiny_clip(tiny_clip_files: TinyClip, monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyClip]:
    """Register the tiny model and its pretrained tag with open_clip; point the hub cache at it.

    Its tag's hub entry ("org/repo/") is what open_clip uses for its real tags, so the
    resolution code runs unchanged.
    """
    from huggingface_hub import constants
    from open_clip.factory import _MODEL_CONFIGS
    from open_clip.pretrained import _PRETRAINED, _pcfg

    monkeypatch.setitem(_MODEL_CONFIGS, TINY_MODEL, TINY_CONFIG)
    monkeypatch.setitem(_PRETRAINED, TINY_MODEL, {TINY_TAG: _pcfg(hf_hub=f"{TINY_REPO}/")})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tiny_clip_files.hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("PHOTOMGR_CLIP_WEIGHTS", raising=False)
    yield tiny_clip_files
