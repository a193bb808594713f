"""A model load waits for the window's import of torch & co. (gui/startup.py) instead of
importing them beside it: two threads importing torch at once can fail ("'torch._C' is not a
package", pytorch/pytorch#182560), and the window's model thread starts a load while the splash
is still importing (the hidden window receives its first rows meanwhile)."""

from __future__ import annotations

import threading

import pytest

from photomgr.core.models import registry
from photomgr.core.services.model_choice import LazyEmbedder, ModelChoice
from tests.fakes import FakeEmbedder


def test_a_model_load_waits_for_the_model_imports_under_way(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[bool] = []  # whether the imports were still under way when the load began

    def pick_device() -> str:  # the load's first use of torch (registry.load_embedder)
        loads.append(registry._IMPORTING.locked())
        return "cpu"

    monkeypatch.setattr(registry, "pick_device", pick_device)
    monkeypatch.setattr("photomgr.core.models.default_backend.DefaultEmbedder",
                        lambda **kwargs: FakeEmbedder())
    lazy = LazyEmbedder(ModelChoice("default"))
    release = threading.Event()

    def slow_import() -> None:  # import_model_libraries as the splash runs it, slowed down
        with registry._IMPORTING:
            release.wait(5)

    importer = threading.Thread(target=slow_import)
    importer.start()
    while not registry._IMPORTING.locked():
        pass
    lazy.start_loading()
    lazy._thread.join(0.3)  # type: ignore[union-attr]
    assert loads == [] and not lazy.finished  # waiting for the import, not loading beside it
    release.set()
    importer.join()
    lazy.wait()
    assert loads == [False] and lazy.loaded


def test_load_embedder_waits_for_the_imports_too(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(registry, "wait_for_model_imports", lambda: order.append("waited"))
    monkeypatch.setattr(registry, "pick_device", lambda: order.append("torch") or "cpu")
    with pytest.raises(ValueError):
        registry.load_embedder("nope")  # an unknown backend fails before anything is imported
    assert order == []
    monkeypatch.setattr("photomgr.core.models.default_backend.DefaultEmbedder",
                        lambda **kwargs: order.append("built"))
    registry.load_embedder("default")
    assert order == ["waited", "torch", "built"]
