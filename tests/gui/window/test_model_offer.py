"""First-run model choice: the strip offers CLIP with progress and Cancel, never blocking."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from photomgr.core.models.base import DownloadCancelled
from photomgr.gui.window import model_offer
from photomgr.gui.window.main_window import MainWindow


def test_the_offer_downloads_with_progress_cancel_and_switches(window: MainWindow, qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    offer = window.model_offer
    # The fake model reports itself as CLIP: pretend the default runs without CLIP weights here.
    from photomgr.gui.worker.results import ModelState

    offer.on_model_state(ModelState(loaded="default:x", active="default:x", backend="default", state="ready"))
    assert offer.isVisible() and "1,000 everyday objects" in offer.text.text()
    assert "not faces" in offer.text.text()

    release = threading.Event()
    calls: list[str] = []

    def fake_fetch(pretrained: str, progress, cancel: threading.Event) -> Path:  # type: ignore[no-untyped-def]
        calls.append(pretrained)
        for done in range(0, 600, 100):
            progress(done * 1_000_000, 600_000_000)
            if cancel.wait(0.02):
                raise DownloadCancelled("cancelled")
        release.wait(5)
        if cancel.is_set():
            raise DownloadCancelled("cancelled")
        path = tmp_path / "open_clip_model.safetensors"
        path.write_bytes(b"w")
        return path

    monkeypatch.setattr(model_offer, "fetch_clip", fake_fetch)
    offer.download.click()
    assert offer.downloading and offer.cancel.isVisible()
    qtbot.waitUntil(lambda: offer.bar.maximum() == 1000 and offer.bar.value() > 0, timeout=5_000)
    assert "of 600 MB" in offer.text.text()
    offer.cancel.click()  # the GUI never waited: Cancel is answered while the download runs
    qtbot.waitUntil(lambda: not offer.downloading and "cancelled" in offer.text.text(), timeout=5_000)
    assert offer.download.isVisible()

    release.set()
    offer.download.click()
    qtbot.waitUntil(lambda: offer.switch.isVisible(), timeout=5_000)
    assert calls == ["laion2b_s34b_b79k"] * 2
    switched: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "use_model", lambda backend, pretrained="", weights=None:
                        switched.append((backend, pretrained)))
    offer.switch.click()
    assert switched == [("clip", "laion2b_s34b_b79k")]


def test_not_now_is_remembered_for_the_library(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    from photomgr.gui.worker.results import ModelState

    state = ModelState(loaded="default:x", active="default:x", backend="default", state="ready")
    window.model_offer.on_model_state(state)
    assert window.model_offer.isVisible()
    window.model_offer.later.click()
    assert not window.model_offer.isVisible()
    again = model_offer.ModelOffer(window.paths.root / "gui.ini")
    again.on_model_state(state)
    assert not again.isVisible()
    clip = ModelState(backend="clip", state="ready", clip_available=True)
    fresh = model_offer.ModelOffer(None)
    fresh.on_model_state(clip)
    assert not fresh.isVisible()  # CLIP in use: nothing to offer
