"""The probes of "One write path" on the CLI: each fault is one clear line and an exit code,
never a traceback, and nothing in the library is lost."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from photomgr.cli.main import EXIT_BUSY, EXIT_OUTPUT_CLOSED, EXIT_USAGE, main
from photomgr.core.library.database import Library
from tests.conftest import make_photo
from tests.fakes import fake_model  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("fake_model")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def lib(tmp_path: Path) -> tuple[Path, Path]:
    photos = tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"red{i}.jpg", (220, 20, 20), seed=i)
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(photos)]) == 0
    assert main(["--library", str(library), "labels", "add", "red"]) == 0
    return library, photos


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.startswith("photomgr: error: "), err
    return err


def test_zero_byte_library_is_not_silently_replaced(tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "library.db").write_bytes(b"")
    assert main(["--library", str(tmp_path), "labels", "list"]) == EXIT_USAGE
    assert "0 bytes" in _one_line_error(capsys)
    assert (tmp_path / "library.db").stat().st_size == 0


def test_malformed_library(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, _ = lib
    db = library / "library.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["--library", str(library), "labels", "list"]) == EXIT_USAGE
    assert "damaged" in _one_line_error(capsys) or "not a usable" in capsys.readouterr().err


def test_unknown_active_model_is_a_clear_error_and_recovers(
        lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    with sqlite3.connect(library / "library.db") as conn:
        conn.execute("UPDATE settings SET value = 'bogus:xyz' WHERE key = 'model.active_id'")
    capsys.readouterr()
    assert main(["--library", str(library), "tags", str(photos / "red0.jpg")]) == EXIT_USAGE
    assert "does not know" in _one_line_error(capsys)
    assert main(["--library", str(library), "model", "use", "default"]) == 0
    assert main(["--library", str(library), "index", str(photos)]) == 0
    capsys.readouterr()
    assert main(["--library", str(library), "tags", str(photos / "red0.jpg"), "--json"]) == 0
    assert '"label": "red"' in capsys.readouterr().out  # the label survived


def test_corrupt_label_prompts_do_not_crash(
        lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, _ = lib
    with sqlite3.connect(library / "library.db") as conn:
        conn.execute("UPDATE labels SET prompts = '{not json'")
    capsys.readouterr()
    assert main(["--library", str(library), "labels", "list"]) == 0
    assert "red" in capsys.readouterr().out


def test_no_wait_fails_at_once_while_another_process_writes(
        lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    other = Library(library)
    other.conn.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        capsys.readouterr()
        code = main(["--library", str(library), "--no-wait", "tag", str(photos / "red0.jpg"), "red",
                     "--reject"])
        assert code == EXIT_BUSY
        assert "another photomgr process is writing" in _one_line_error(capsys)
    finally:
        other.conn.execute("ROLLBACK")
        other.close()
    assert main(["--library", str(library), "tag", str(photos / "red0.jpg"), "red", "--reject"]) == 0


def test_second_index_waits_or_fails_with_no_wait(
        lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, photos = lib
    with Library(library) as first:
        lock = first.index_lock()
        lock.acquire()
        try:
            capsys.readouterr()
            assert main(["--library", str(library), "--no-wait", "index", str(photos)]) == EXIT_BUSY
            assert "is indexing this library" in _one_line_error(capsys)
        finally:
            lock.release()
    assert main(["--library", str(library), "--no-wait", "index", str(photos)]) == 0


def test_showing_commands_never_create_a_library(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`photomgr --library ~/Pictures labels list` (the photos folder given as the library):
    a command that only shows a library's content says there is none, and writes nothing."""
    photos = tmp_path / "photos"
    make_photo(photos / "red0.jpg", (220, 20, 20), seed=0)
    before = sorted(p.name for p in photos.iterdir())
    for argv in (["labels", "list"], ["tags", "--all"], ["tags", str(photos / "red0.jpg")],
                 ["search", "red"], ["similar", str(photos / "red0.jpg")], ["duplicates"],
                 ["describe"], ["describe", str(photos / "red0.jpg")], ["xmp", "config"]):
        assert main(["--library", str(photos), *argv]) == EXIT_USAGE, argv
        assert "there is no library at" in _one_line_error(capsys)
        assert sorted(p.name for p in photos.iterdir()) == before, argv
    monkeypatch.setenv("PHOTOMGR_LIBRARY", str(tmp_path / "nothing yet"))  # no --library typed
    assert main(["labels", "list"]) == EXIT_USAGE
    assert _one_line_error(capsys).endswith("yet: run `photomgr index PATH` first")
    assert not (tmp_path / "nothing yet").exists()


def test_a_reader_that_went_away_stops_the_output_quietly(lib: tuple[Path, Path]) -> None:
    """`photomgr tags --all --json | head`: once the reader has closed the pipe, the command
    stops with 141 (as a filter killed by SIGPIPE), not with a BrokenPipeError traceback."""
    library, _ = lib
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for argv in (["labels", "list"], ["tags", "--all", "--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line is written
        try:
            done = subprocess.run([sys.executable, "-m", "tests.cli.index_child", "--library",
                                   str(library), *argv], cwd=REPO, env=env, stdout=write_end,
                                  stderr=subprocess.PIPE, text=True, timeout=120)
        finally:
            os.close(write_end)
        assert done.returncode == EXIT_OUTPUT_CLOSED, done.stderr
        assert done.stderr == "", done.stderr


def test_disk_full_during_an_operation(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    library, _ = lib
    import photomgr.core.library.database as database

    real_connect = database.connect

    def full_disk(path: Path, **kwargs: bool) -> sqlite3.Connection:
        conn = real_connect(path, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(database, "connect", full_disk)
    capsys.readouterr()
    names = [f"label number {n} " + "x" * 300 for n in range(40)]
    code = main(["--library", str(library), "labels", "add", names[0]])
    for name in names[1:]:
        if code != 0:
            break
        code = main(["--library", str(library), "labels", "add", name])
    assert code == EXIT_USAGE
    assert "disk holding the library is full" in _one_line_error(capsys)
    monkeypatch.undo()
    assert main(["--library", str(library), "labels", "list"]) == 0
    assert "red" in capsys.readouterr().out  # what was there before is intact


def _read_only_mount_works(tmp: Path) -> bool:
    """Can we bind-mount a folder read-only in a private mount namespace (root, Linux)?"""
    if shutil.which("unshare") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    probe = tmp / "probe"
    probe.mkdir()
    done = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro {probe} {probe} && "
                           f"! touch {probe}/x 2>/dev/null"], capture_output=True, timeout=30)
    return done.returncode == 0


def test_read_only_library_serves_read_only_commands(lib: tuple[Path, Path], tmp_path: Path) -> None:
    """On a read-only file system (a read-only bind mount of the library folder, like a library
    on a write-protected disk): `labels list` and `tags` work, `labels add` says why it cannot,
    and nothing is written."""
    if not _read_only_mount_works(tmp_path):
        pytest.skip("needs root and `unshare -m` to mount the library read-only")
    library, photos = lib
    # As a cleanly closed library is: no connection left open (`with sqlite3.connect()` alone
    # leaves it open, and its -shm file let a writer's connection open on the read-only mount).
    with closing(sqlite3.connect(library / "library.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (library / "library.db").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        cli = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "tests.cli.index_child",
                                                  "--library", str(library), *argv])
        script = f"mount --bind -o ro {shlex.quote(str(library))} {shlex.quote(str(library))} && exec {cli}"
        return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    listed = run("labels", "list")
    assert listed.returncode == 0, listed.stderr
    assert "red" in listed.stdout
    tags = run("tags", str(photos / "red0.jpg"))
    assert tags.returncode == 0, tags.stderr
    for shows in (["describe"], ["describe", str(photos / "red0.jpg")], ["xmp", "config"], ["duplicates"]):
        shown = run(*shows)  # printing a description, the status or a setting only reads
        assert shown.returncode == 0, (shows, shown.stderr)
    assert "red square" in run("describe", str(photos / "red0.jpg")).stdout
    for change in (["labels", "add", "blue"], ["describe", str(photos / "red0.jpg"), "--set", "mine"],
                   ["xmp", "config", "--naming", "base"]):
        added = run(*change)
        assert added.returncode == EXIT_USAGE, change
        assert "Traceback" not in added.stderr and "read" in added.stderr.lower(), added.stderr
    assert (library / "library.db").read_bytes() == before
