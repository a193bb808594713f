"""`photomgr model use clip --weights FILE` checks the file when it is chosen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photomgr.cli.main import main
from tests.core.models.conftest import TINY_MODEL, TinyClip, tiny_clip, tiny_clip_files  # noqa: F401


def _settings(library: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["--library", str(library), "model", "--json"]) == 0
    status: dict[str, object] = json.loads(capsys.readouterr().out)
    return status


@pytest.mark.parametrize(("content", "message"), [
    (b"just some text, not weights", "is not usable CLIP weights"),
    (None, "does not hold CLIP ViT-B-32 weights"),  # real weights, of another (tiny) model
])
def test_wrong_weights_are_refused_and_nothing_changes(tiny_clip: TinyClip, tmp_path: Path,  # noqa: F811
                                                       capsys: pytest.CaptureFixture[str],
                                                       content: bytes | None, message: str) -> None:
    library = tmp_path / "lib"
    before = _settings(library, capsys)
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(content if content is not None else tiny_clip.safetensors_bytes)
    assert main(["--library", str(library), "model", "use", "clip", "--weights", str(weights)]) == 2
    err = capsys.readouterr().err
    assert message in err and "the library still uses default" in err
    after = _settings(library, capsys)
    assert after == before and after["backend"] == "default"


def test_right_weights_are_accepted(tiny_clip: TinyClip, tmp_path: Path,  # noqa: F811
                                    capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The tiny model stands in for ViT-B-32: the check compares the file with the architecture
    monkeypatch.setattr("photomgr.cli.model_cmd.DEFAULT_CLIP_MODEL", TINY_MODEL)
    library = tmp_path / "lib"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(tiny_clip.bin_bytes)
    assert main(["--library", str(library), "model", "use", "clip", "--weights", str(weights), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] == str(weights.resolve())
    status = _settings(library, capsys)
    clip = status["clip"]
    assert status["backend"] == "clip" and isinstance(clip, dict)
    assert clip["available"] and clip["weights"] == str(weights.resolve())


def test_clip_missing_offline_exits_4_as_documented(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's exit table: 4, "the model cannot be loaded (for example CLIP weights missing
    offline)". `model use clip` without weights and `model fetch` without a network said 2."""
    from photomgr.cli.main import EXIT_MODEL
    from photomgr.core.models.base import ModelUnavailable
    from photomgr.core.services.model_choice import ModelChoice, clip_availability

    library = ["--library", str(tmp_path / "lib")]
    monkeypatch.setattr(ModelChoice, "clip", lambda self: clip_availability(
        self.clip_pretrained, model_name="ViT-B-32", weights_path=tmp_path / "nowhere.safetensors"))
    assert main([*library, "model", "use", "clip"]) == EXIT_MODEL
    assert "photomgr: error: " in capsys.readouterr().err

    def offline(*args: object, **kwargs: object) -> Path:
        raise ModelUnavailable("cannot reach huggingface.co (no network?)")

    monkeypatch.setattr("photomgr.core.models.clip_weights.resolve_clip_weights", offline)
    assert main([*library, "model", "fetch"]) == EXIT_MODEL
    assert "cannot reach huggingface.co" in capsys.readouterr().err
    assert _settings(tmp_path / "lib", capsys)["backend"] == "default"
