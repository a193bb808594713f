"""The CLIP image tower in bfloat16 (on CPUs that compute it natively) against float32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from photomgr.core.models.clip_backend import ClipEmbedder
from photomgr.core.models.cpu_inference import ENV_PRECISION, image_tower_dtype
from photomgr.core.models.registry import load_embedder
from tests.core.models.conftest import TINY_MODEL, TINY_TAG, TinyClip


def _load(monkeypatch: pytest.MonkeyPatch, precision: str) -> ClipEmbedder:
    monkeypatch.setenv(ENV_PRECISION, precision)
    embedder = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu")
    assert isinstance(embedder, ClipEmbedder)
    return embedder


def test_precision_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PRECISION, "fp32")
    assert image_tower_dtype("cpu") == torch.float32
    monkeypatch.setenv(ENV_PRECISION, "bf16")
    assert image_tower_dtype("cpu") == torch.bfloat16
    assert image_tower_dtype("cuda") == torch.float32  # CPU only: GPUs keep their own path


def test_bf16_image_vectors_agree_with_fp32(tiny_clip: TinyClip,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)) for _ in range(4)]
    photos += [Image.new("RGB", (80, 60), c) for c in ((200, 30, 30), (20, 20, 220))]
    fp32 = _load(monkeypatch, "fp32")
    bf16 = _load(monkeypatch, "bf16")
    assert next(bf16.model.visual.parameters()).dtype == torch.bfloat16
    assert next(bf16.model.transformer.parameters()).dtype == torch.float32  # text stays fp32
    batch = torch.stack([fp32.preprocess(p) for p in photos])
    a = fp32.embed_images(batch).image
    b = bf16.embed_images(batch).image
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() >= 0.99
    np.testing.assert_array_equal(fp32.embed_label(["dog"]), bf16.embed_label(["dog"]))


def test_openmp_waits_passively_unless_the_user_says_otherwise() -> None:
    import os
    import subprocess
    import sys

    code = "import photomgr.core.models, os; print(os.environ['OMP_WAIT_POLICY'])"
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])  # this checkout's photomgr
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"
