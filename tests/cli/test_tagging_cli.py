"""The label, tag and search commands end to end, on generated photos and the fake model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from photomgr.cli.main import main
from tests.conftest import make_photo
from tests.fakes import fake_model  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("fake_model")

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


@pytest.fixture
def lib(tmp_path: Path) -> tuple[Path, Path]:
    photos = tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"red{i}.jpg", RED, seed=i)
        make_photo(photos / f"green{i}.jpg", GREEN, seed=10 + i)
        make_photo(photos / f"blue{i}.jpg", BLUE, seed=20 + i)
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(photos), "--json"]) == 0
    return library, photos


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_index_embeds_with_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photo(tmp_path / "p" / "a.jpg", RED)
    out = run(capsys, "--library", str(tmp_path / "lib"), "index", str(tmp_path / "p"), "--json")
    assert isinstance(out, dict)
    assert out["embedded"] == 1 and out["model"] == "clip:fake-colour:v1" and out["pending"] == 0
    status = run(capsys, "--library", str(tmp_path / "lib"), "model", "--json")
    assert isinstance(status, dict)
    assert status["active_model"] == "clip:fake-colour:v1"
    assert status["vectors"] == {"clip:fake-colour:v1": 1}


def test_labels_tag_matching_photos(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    L = ["--library", str(library)]
    added = run(capsys, *L, "labels", "add", "red", "--json")
    assert isinstance(added, dict) and added["name"] == "red" and added["photos"] == 3
    run(capsys, *L, "labels", "add", "green things", "--prompt", "a photo of something green", "--json")
    run(capsys, *L, "labels", "add", "blue", "--json")
    listing = run(capsys, *L, "labels", "list", "--json")
    assert [(x["name"], x["photos"]) for x in listing] == [  # type: ignore[index]
        ("blue", 3), ("green things", 3), ("red", 3)]

    shown = run(capsys, *L, "tags", str(photos / "red0.jpg"), "--json")
    assert isinstance(shown, dict) and shown["path"] == str(photos / "red0.jpg")
    assert shown["description"] == "a red square on a striped card"  # written while indexing
    tags = shown["tags"]
    assert tags[0]["label"] == "red" and tags[0]["state"] == "tagged" and tags[0]["source"] == "auto"
    assert {t["label"]: t["state"] for t in tags}["green things"] == "untagged"

    everything = run(capsys, *L, "tags", "--all", "--json")
    assert isinstance(everything, list) and len(everything) == 9
    for photo in everything:
        best = photo["tags"][0]["label"]
        name = Path(photo["path"]).name
        assert (best == "red") == name.startswith("red")
        assert len(photo["tags"]) == 3  # every label's score, tagged or not
        assert photo["description"].startswith("a ")


def test_decisions_survive_rename_reindex_and_move(lib: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    L = ["--library", str(library)]
    run(capsys, *L, "labels", "add", "red", "--json")
    rejected = run(capsys, *L, "tag", str(photos / "red1.jpg"), "red", "--reject", "--json")
    assert rejected == {"label": "red", "score": rejected["score"], "source": "auto",  # type: ignore[index]
                        "state": "rejected"}
    manual = run(capsys, *L, "tag", str(photos / "blue0.jpg"), "red", "--confirm", "--json")
    assert isinstance(manual, dict) and manual["state"] == "confirmed" and manual["source"] == "manual"

    run(capsys, *L, "labels", "rename", "red", "crimson", "--json")
    (photos / "moved").mkdir()
    shutil.move(photos / "red1.jpg", photos / "moved" / "red1.jpg")
    out = run(capsys, *L, "index", str(photos), "--json")
    assert isinstance(out, dict) and out["moved"] == 1 and out["new"] == 0

    tags = run(capsys, *L, "tags", str(photos / "moved" / "red1.jpg"), "--json")["tags"]  # type: ignore[index]
    assert tags[0]["label"] == "crimson" and tags[0]["state"] == "rejected"
    tags = run(capsys, *L, "tags", str(photos / "blue0.jpg"), "--json")["tags"]  # type: ignore[index]
    assert tags[0]["state"] == "confirmed"
    everything = run(capsys, *L, "tags", "--all", "--json")
    carrying = {Path(p["path"]).name for p in everything  # type: ignore[union-attr]
                if p["tags"][0]["state"] in ("tagged", "confirmed")}
    assert "blue0.jpg" in carrying and "red1.jpg" not in carrying
    listing = run(capsys, *L, "labels", "list", "--json")
    assert listing[0]["photos"] == len(carrying)  # type: ignore[index]


def test_tags_says_why_a_photo_has_no_scores_or_is_missing(
        lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A file that could not be read, or that is gone, printed a bare "(no tags)", as if the
    model had found nothing in it."""
    library, photos = lib
    L = ["--library", str(library)]
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    run(capsys, *L, "index", str(photos), "--json")
    assert main([*L, "tags", str(photos / "broken.jpg")]) == 0
    assert "could not be read when indexed: " in capsys.readouterr().out
    broken = run(capsys, *L, "tags", str(photos / "broken.jpg"), "--json")
    assert isinstance(broken, dict) and broken["error"] and broken["missing"] is False
    (photos / "red0.jpg").unlink()
    run(capsys, *L, "index", str(photos), "--json")
    assert main([*L, "tags", str(photos / "red0.jpg")]) == 0
    assert "missing: not found where it was at the last index" in capsys.readouterr().out
    gone = run(capsys, *L, "tags", str(photos / "red0.jpg"), "--json")
    assert isinstance(gone, dict) and gone["missing"] is True and gone["error"] is None


def test_rename_and_remove_say_what_they_did(lib: tuple[Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    L = ["--library", str(library)]
    run(capsys, *L, "labels", "add", "red", "--json")
    run(capsys, *L, "tag", str(photos / "blue0.jpg"), "red", "--confirm", "--json")
    assert main([*L, "labels", "rename", "red", "crimson"]) == 0
    assert capsys.readouterr().out.startswith("renamed 'red' to label 'crimson': ")
    assert main([*L, "labels", "remove", "crimson"]) == 0  # no undo here: the lost decision is told
    said = capsys.readouterr().out
    assert said == "removed label 'crimson' and its confirmations and rejections on 1 photos\n"


def test_remove_label(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, _ = lib
    L = ["--library", str(library)]
    run(capsys, *L, "labels", "add", "blue", "--json")
    assert run(capsys, *L, "labels", "remove", "blue", "--json") == {"removed": "blue"}
    assert run(capsys, *L, "labels", "list", "--json") == []
    assert main([*L, "labels", "remove", "blue"]) == 2
    assert "no label named 'blue'" in capsys.readouterr().err


def test_similar_search_and_duplicates(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    L = ["--library", str(library)]
    shutil.copy(photos / "green0.jpg", photos / "green0-copy.jpg")
    run(capsys, *L, "index", str(photos), "--json")

    similar = run(capsys, *L, "similar", str(photos / "red0.jpg"), "-k", "2", "--json")
    assert isinstance(similar, list) and len(similar) == 2
    assert all(Path(h["path"]).name.startswith("red") and h["path"] != str(photos / "red0.jpg")
               for h in similar)
    assert set(similar[0]) == {"path", "score"}

    found = run(capsys, *L, "search", "something blue", "-k", "3", "--json")
    assert isinstance(found, list) and [Path(h["path"]).name[:4] for h in found] == ["blue"] * 3

    # Exact copies group at any threshold; same-coloured photos are near-duplicates to the fake model.
    groups = run(capsys, *L, "duplicates", "--threshold", "0.99999", "--json")
    assert [sorted(Path(p).name for p in g) for g in groups] == [["green0-copy.jpg", "green0.jpg"]]  # type: ignore[union-attr]
    groups = run(capsys, *L, "duplicates", "--json")
    assert sorted(sorted(Path(p).name[:3] for p in g) for g in groups) == [  # type: ignore[union-attr]
        ["blu"] * 3, ["gre"] * 4, ["red"] * 3]


def test_query_before_index_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--library", str(tmp_path / "lib"), "search", "dog"]) == 2
    assert "run `photomgr index PATH` first" in capsys.readouterr().err


def test_similar_in_a_one_photo_library_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A bare exit 0 with no output read as "the command did nothing".
    make_photo(tmp_path / "photos" / "only.jpg", seed=1)
    L = ["--library", str(tmp_path / "lib")]
    assert main([*L, "index", str(tmp_path / "photos")]) == 0
    capsys.readouterr()
    assert main([*L, "similar", str(tmp_path / "photos" / "only.jpg")]) == 0
    assert "no other photos to compare with" in capsys.readouterr().out
