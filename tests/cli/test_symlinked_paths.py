"""A photo reached through a symbolic link is found by the path the user types and by its real
path, whether its folder was indexed through the link (as the window does: roots as given) or
resolved (as `photomgr index` does); byte-exact names that are not UTF-8 included."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photomgr.cli.main import EXIT_USAGE, main
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.services.indexing import index_folders
from tests.conftest import make_photo
from tests.fakes import FakeEmbedder, fake_model  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("fake_model")

ODD = os.fsdecode(b"caf\xe9")  # a folder name that is not UTF-8 (U+DCE9 in Python's str)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    real = tmp_path / "real"
    make_photo(real / "red0.jpg", (220, 20, 20), seed=0)
    try:
        make_photo(real / ODD / "red1.jpg", (220, 30, 20), seed=1)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses a name that is not UTF-8")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    return real, link


def _tags(capsys: pytest.CaptureFixture[str], library: Path, photo: Path) -> list[dict[str, object]]:
    assert main(["--library", str(library), "tags", str(photo), "--json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, dict | list)
    return out if isinstance(out, list) else [out]


def _every_way(capsys: pytest.CaptureFixture[str], library: Path, real: Path, link: Path,
               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (Path("red0.jpg"), Path(ODD) / "red1.jpg"):
        for photo in (real / name, link / name):
            _tags(capsys, library, photo)
            assert main(["--library", str(library), "describe", str(photo), "--json"]) == 0
            capsys.readouterr()
            monkeypatch.chdir(photo.parent)  # typed relative to the folder the user is in
            assert main(["--library", str(library), "describe", photo.name, "--json"]) == 0
            capsys.readouterr()


def test_a_folder_added_through_a_link_is_found_by_either_path(
        tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real, link = tree
    library = tmp_path / "lib"
    with Library(library) as lib:
        index_folders(lib, [link], embedder=FakeEmbedder())  # the window passes roots as chosen
        stored = sorted(PhotoStore(lib.conn).by_id(i).path  # type: ignore[union-attr]
                        for (i,) in lib.conn.execute("SELECT id FROM photos"))
    assert stored == sorted([str(link / "red0.jpg"), str(link / ODD / "red1.jpg")])
    _every_way(capsys, library, real, link, monkeypatch)  # was: "not in the library" by the real path


def test_a_folder_indexed_by_the_cli_is_found_through_the_link(
        tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real, link = tree
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(link), "--json"]) == 0  # resolved: real/
    capsys.readouterr()
    _every_way(capsys, library, real, link, monkeypatch)


def test_a_path_outside_the_library_is_still_refused(
        tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _real, link = tree
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(link), "--json"]) == 0
    capsys.readouterr()
    make_photo(tmp_path / "elsewhere" / "red0.jpg", (220, 20, 20), seed=0)
    assert main(["--library", str(library), "tags", str(tmp_path / "elsewhere" / "red0.jpg")]) == 2
    assert "not in the library" in capsys.readouterr().err


def _xmp(capsys: pytest.CaptureFixture[str], library: Path, action: str, folder: Path) -> int:
    assert main(["--library", str(library), "xmp", action, str(folder), "--json"]) == 0
    photos = json.loads(capsys.readouterr().out)["photos"]
    assert isinstance(photos, int)
    return photos


def test_xmp_on_a_folder_finds_photos_the_window_added_through_a_link(
        tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, link = tree
    library = tmp_path / "lib"
    with Library(library) as lib:
        index_folders(lib, [link], embedder=FakeEmbedder())  # the window: roots as chosen
    for folder in (real, link, real / ODD, link / ODD):
        expected = 2 if folder in (real, link) else 1
        assert _xmp(capsys, library, "read", folder) == expected, folder  # was 0 by the real path
        assert _xmp(capsys, library, "write", folder) == expected, folder


def test_xmp_on_a_folder_holding_a_linked_root(
        tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The window added link/<sub> (a folder inside the link); the user types the real parent."""
    real, link = tree
    library = tmp_path / "lib"
    with Library(library) as lib:
        index_folders(lib, [link / ODD], embedder=FakeEmbedder())
    assert _xmp(capsys, library, "write", real) == 1
    (tmp_path / "elsewhere").mkdir()
    # outside: still nothing, and it says so (as `tags` does) instead of a quiet "0 photos"
    assert main(["--library", str(library), "xmp", "write", str(tmp_path / "elsewhere")]) == EXIT_USAGE
    assert "no photos of the library there" in capsys.readouterr().err
