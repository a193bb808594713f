"""Fixtures shared by every test: generated photos, and the optional ../shared/photos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_model_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Derived model files (CLIP text extracts) go to a folder of the test's own, never the user's."""
    monkeypatch.setenv("PHOTOMGR_MODEL_CACHE", str(tmp_path_factory.mktemp("model-cache")))


def shared_photos_dir() -> Path:
    env = os.environ.get("PHOTOMGR_SHARED_PHOTOS")
    return Path(env) if env else (REPO / ".." / "shared" / "photos").resolve()


@pytest.fixture
def shared_photos() -> Path:
    path = shared_photos_dir()
    if not path.is_dir():
        pytest.skip(f"test photos not found at {path} (set PHOTOMGR_SHARED_PHOTOS to run this)")
    return path


def make_photo(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (320, 240),
               fmt: str = "JPEG", seed: int = 0) -> Path:
    """A small photo with a distinctive pattern (seed), so different seeds give different hashes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, color)
    for i in range(0, size[0], 16):
        shade = (i * 7 + seed * 31) % 256
        img.paste((shade, 255 - shade, (seed * 53) % 256), (i, 0, i + 8, size[1] // 2))
    img.save(path, fmt)
    return path
