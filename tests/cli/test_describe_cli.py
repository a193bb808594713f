"""`photomgr describe`, descriptions while indexing, and search by their words, end to end on
generated photos and the fake model (whose describing twin names each photo's colour)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photomgr.cli.main import EXIT_MODEL, EXIT_USAGE, main
from tests.conftest import make_photo
from tests.fakes import DescribingFakeEmbedder, fake_model  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("fake_model")

RED, BLUE = (220, 20, 20), (20, 20, 220)
CAPTIONER = DescribingFakeEmbedder.CAPTIONER


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.fixture
def lib(tmp_path: Path) -> tuple[list[str], Path]:
    photos = tmp_path / "photos"
    for i in range(2):
        make_photo(photos / f"red{i}.jpg", RED, seed=i)
        make_photo(photos / "lake" / f"blue{i}.jpg", BLUE, seed=20 + i)
    return ["--library", str(tmp_path / "lib")], photos


def test_indexing_describes_and_describe_prints(lib: tuple[list[str], Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    L, photos = lib
    out = run(capsys, *L, "index", str(photos), "--json")
    assert out["described"] == 4 and out["describe_problem"] is None  # type: ignore[index]
    got = run(capsys, *L, "describe", str(photos / "red0.jpg"), str(photos / "lake" / "blue1.jpg"), "--json")
    assert got == [
        {"path": str(photos / "red0.jpg"), "description": "a red square on a striped card",
         "source": "model", "model": CAPTIONER},
        {"path": str(photos / "lake" / "blue1.jpg"), "description": "a blue square on a striped card",
         "source": "model", "model": CAPTIONER},
    ]
    assert main([*L, "describe", str(photos / "red0.jpg")]) == 0
    assert capsys.readouterr().out == f"{photos / 'red0.jpg'}: a red square on a striped card\n"


def test_the_users_description_survives_indexing_and_clear_brings_the_models_back(
        lib: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    L, photos = lib
    red = photos / "red0.jpg"
    run(capsys, *L, "index", str(photos), "--json")
    assert main([*L, "describe", str(red), "--set", "Grandpa's red tractor"]) == 0
    assert "(yours)" in capsys.readouterr().out
    make_photo(red, RED, seed=99)  # new content: re-embedded and described again by the model
    os.utime(red, (1, 1))
    out = run(capsys, *L, "index", str(photos), "--json")
    assert out["updated"] == 1  # type: ignore[index]
    assert run(capsys, *L, "describe", str(red), "--json") == [
        {"path": str(red), "description": "Grandpa's red tractor", "source": "user", "model": None}]
    tags = run(capsys, *L, "tags", str(red), "--json")
    assert tags["description"] == "Grandpa's red tractor"  # type: ignore[index]
    everything = run(capsys, *L, "tags", "--all", "--json")
    assert {Path(p["path"]).name: p["description"] for p in everything}["red0.jpg"] == (  # type: ignore[union-attr]
        "Grandpa's red tractor")
    assert run(capsys, *L, "describe", str(red), "--clear", "--json") == [
        {"path": str(red), "description": "a red square on a striped card", "source": "model",
         "model": CAPTIONER}]


def test_off_skips_descriptions_and_describe_or_the_next_index_catches_up(
        lib: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    L, photos = lib
    assert main([*L, "describe", "--off"]) == 0
    assert "off" in capsys.readouterr().out
    out = run(capsys, *L, "index", str(photos), "--json")
    assert out["embedded"] == 4 and out["described"] == 0  # type: ignore[index]
    status = run(capsys, *L, "describe", "--json")
    assert isinstance(status, dict)
    assert (status["enabled"], status["photos"], status["described"]) == (False, 4, 0)
    # Asked for by name, a missing description is generated even with indexing's off.
    got = run(capsys, *L, "describe", str(photos / "red1.jpg"), "--json")
    assert got[0]["description"] == "a red square on a striped card"  # type: ignore[index]
    assert main([*L, "describe", "--on"]) == 0
    capsys.readouterr()
    out = run(capsys, *L, "index", str(photos), "--json")  # nothing new: only the catch-up runs
    assert out["new"] == 0 and out["embedded"] == 0 and out["described"] == 3  # type: ignore[index]
    assert run(capsys, *L, "describe", "--json")["described"] == 4  # type: ignore[index]


def test_search_finds_photos_by_the_words_of_their_descriptions_and_folders(
        lib: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    L, photos = lib
    run(capsys, *L, "index", str(photos), "--json")
    run(capsys, *L, "describe", str(photos / "red1.jpg"), "--set", "a tractor in a field", "--json")
    found = run(capsys, *L, "search", "tractor", "-k", "2", "--json")
    assert found[0] == {"path": str(photos / "red1.jpg"), "score": found[0]["score"],  # type: ignore[index]
                        "text_match": True}
    assert found[1]["text_match"] is False  # type: ignore[index]
    found = run(capsys, *L, "search", "lake", "-k", "4", "--json")  # the folder's name
    assert {Path(h["path"]).name for h in found if h["text_match"]} == {"blue0.jpg", "blue1.jpg"}  # type: ignore[union-attr]
    assert main([*L, "search", "tractor", "-k", "1"]) == 0
    assert capsys.readouterr().out.split()[1:] == ["T", str(photos / "red1.jpg")]


def test_clear_errors(lib: tuple[list[str], Path], capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    L, photos = lib
    assert run(capsys, *L, "describe", "--off", "--json") == {"enabled": False}
    run(capsys, *L, "index", str(photos), "--json")
    assert main([*L, "describe", str(photos / "nowhere.jpg")]) == EXIT_USAGE
    assert "not in the library" in capsys.readouterr().err
    assert main([*L, "describe", "--on", str(photos / "red0.jpg")]) == EXIT_USAGE
    assert main([*L, "describe", str(photos / "red0.jpg"), "--set", " "]) == EXIT_USAGE
    capsys.readouterr()
    for change in (["--set", "Anna at the lake"], ["--clear"]):  # no PATH: not the status, silently
        assert main([*L, "describe", *change]) == EXIT_USAGE
        assert f"{change[0]} changes photos: give their PATHs" in capsys.readouterr().err
    assert run(capsys, *L, "describe", "--json")["by_user"] == 0  # type: ignore[index]
    monkeypatch.setattr(DescribingFakeEmbedder, "describer_status", "the offline captioner is missing")
    assert main([*L, "describe", str(photos / "red0.jpg")]) == EXIT_MODEL
    assert "the offline captioner is missing" in capsys.readouterr().err
    assert run(capsys, *L, "describe", "--on", "--json") == {"enabled": True}
    out = run(capsys, *L, "index", str(photos), "--json")  # indexing goes on, and says why
    assert out["described"] == 0 and "captioner is missing" in out["describe_problem"]  # type: ignore[index]
