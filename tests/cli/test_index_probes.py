"""`photomgr index` on the probes of issue 10: names that are not UTF-8 or carry terminal
escape sequences, and the errors a library holds across runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photomgr.cli.main import main
from tests.conftest import make_photo

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file names")


def _index(tmp_path: Path, folder: Path, *extra: str) -> int:
    return main(["--library", str(tmp_path / "lib"), "index", str(folder), "--no-embed", *extra])


@posix_only
def test_name_not_utf8_indexes_and_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "photos"
    try:
        make_photo(folder / os.fsdecode(b"caf\xe9.jpg"))
        (folder / os.fsdecode(b"bro\xffken.jpg")).write_bytes(b"not an image")
    except (UnicodeError, OSError):
        pytest.skip("this file system does not take names that are not UTF-8")
    assert _index(tmp_path, folder) == 0
    out = capsys.readouterr()
    assert "1 photos: 1 new" in out.out
    assert "bro\\xffken.jpg: not an image" in out.err  # shown, escaped, never a crash

    assert _index(tmp_path, folder, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unchanged"] == 2
    # JSON keeps the exact name: \udcff in the text, the original bytes after os.fsencode.
    held = [os.fsencode(e["path"]) for e in report["held_errors"]]
    assert held == [os.fsencode(folder) + b"/bro\xffken.jpg"]


@posix_only
def test_escape_sequences_in_names_are_not_sent_to_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: a name with terminal escape sequences was printed raw."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "evil\x1b[2J\x1b]0;owned\x07\u202e.jpg").write_bytes(b"not an image")
    assert _index(tmp_path, folder) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "evil\\x1b[2J\\x1b]0;owned\\x07\\u202e.jpg" in err


def test_rerun_reports_the_errors_the_library_holds(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Probe: a re-run said "0 errors" while the library still held errored photos."""
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    assert _index(tmp_path, folder) == 0
    capsys.readouterr()
    assert _index(tmp_path, folder) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out
    assert "1 photos in these folders hold an error: 1 permanent" in out
    assert "--retry-errors" in out

    assert _index(tmp_path, folder, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == [] and report["retried"] == 0
    assert [(Path(e["path"]).name, e["kind"]) for e in report["held_errors"]] == [
        ("bad.png", "permanent")]

    assert _index(tmp_path, folder, "--json", "--retry-errors") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["retried"] == 1
    assert [(Path(e["path"]).name, e["kind"]) for e in report["errors"]] == [("bad.png", "permanent")]
