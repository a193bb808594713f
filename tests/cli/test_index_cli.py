from __future__ import annotations

import json
from pathlib import Path

import pytest

from photomgr.cli.main import main
from tests.conftest import make_photo


def test_index_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    make_photo(photos / "b.jpg", seed=2)
    (photos / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    code = main(["--library", str(tmp_path / "lib"), "index", str(photos), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("photos", "new", "unchanged", "updated", "moved", "missing")} == {
        "photos": 2, "new": 2, "unchanged": 0, "updated": 0, "moved": 0, "missing": 0}
    assert [e["path"] for e in out["errors"]] == [str(photos / "bad.png")]
    assert out["errors"][0]["error"]

    assert main(["--library", str(tmp_path / "lib"), "index", str(photos), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["unchanged"] == 3 and again["new"] == 0 and again["errors"] == []


def test_index_summary_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photo(tmp_path / "p" / "a.jpg")
    assert main(["--library", str(tmp_path / "lib"), "index", str(tmp_path / "p")]) == 0
    assert "1 photos: 1 new, 0 unchanged" in capsys.readouterr().out


def test_missing_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--library", str(tmp_path / "lib"), "index", str(tmp_path / "nope")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_unusable_library_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p").mkdir()
    libfile = tmp_path / "lib"
    libfile.write_text("a file, not a folder")
    assert main(["--library", str(libfile), "index", str(tmp_path / "p")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_the_library_folder_is_not_a_photo_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`photomgr index LIBRARY/thumbnails` recorded every thumbnail as a photo: the walk skips
    the library folder only when it meets it below a root."""
    make_photo(tmp_path / "p" / "a.jpg")
    lib = tmp_path / "lib"
    assert main(["--library", str(lib), "index", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    for inside in (lib, lib / "thumbnails"):
        assert main(["--library", str(lib), "index", str(inside), "--json"]) == 2
        assert "the library's own folder" in capsys.readouterr().err
    assert main(["--library", str(lib), "index", str(tmp_path / "p"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 1


def test_sidecars_are_not_counted_as_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "p"
    make_photo(photos / "a.jpg")
    (photos / "a.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (photos / "notes.txt").write_text("not a photo")
    assert main(["--library", str(tmp_path / "lib"), "index", str(photos)]) == 0
    assert "; 1 other file is not a photo" in capsys.readouterr().out  # notes.txt; the sidecar is not counted
    (photos / "notes.txt").unlink()
    assert main(["--library", str(tmp_path / "lib"), "index", str(photos)]) == 0
    assert "not photos" not in capsys.readouterr().out  # was "1 other files are not photos"
