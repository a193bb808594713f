"""The ImageNet class matrix ships in resources/: a library's first label skips computing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from photomgr.core.models import text_bridge
from photomgr.core.models.text_bridge import SHIPPED_CLASS_MATRIX, TextBridge
from photomgr.resources import resource_path


def _shipped_key() -> str:
    with safe_open(str(resource_path(SHIPPED_CLASS_MATRIX)), framework="numpy") as f:
        return (f.metadata() or {}).get("cache_key", "")


def test_shipped_matrix_is_used_without_computing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _shipped_key() != text_bridge._cache_key():
        pytest.skip("installed MiniLM/timm/sentence-transformers versions differ from the shipped "
                    "matrix's: photomgr computes its own (run photomgr.training.export_class_matrix)")

    def no_compute(self: TextBridge) -> np.ndarray:
        raise AssertionError("the class matrix was recomputed")

    monkeypatch.setattr(TextBridge, "_compute_class_matrix", no_compute)
    matrix = TextBridge(cache_dir=tmp_path).class_matrix()
    assert matrix.shape == (1000, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


def test_a_shipped_matrix_of_other_versions_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_bridge, "_cache_key", lambda: "another-version")
    computed = np.eye(1000, 384, dtype=np.float32)
    monkeypatch.setattr(TextBridge, "_compute_class_matrix", lambda self: computed)
    assert TextBridge(cache_dir=tmp_path).class_matrix() is computed
