"""kill -9 at random points of an index loses nothing.

After every kill the library passes SQLite's integrity check; a final run completes; then every
photo is there once with exactly one vector, the user's labels and decisions made before are
intact, and the originals are byte-identical.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photomgr.cli.main import main
from tests.conftest import make_photo
from tests.fakes import fake_model  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _child(library: Path, photos: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.cli.index_child", "--library", str(library),
                             "index", str(photos)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.usefixtures("fake_model")
def test_kill_minus_nine_at_random_points_loses_nothing(tmp_path: Path) -> None:
    photos, library = tmp_path / "photos", tmp_path / "lib"
    rng = random.Random(20261203)
    for i in range(6):
        make_photo(photos / "first" / f"red{i}.jpg", (220, 20, 20), seed=i)
    assert main(["--library", str(library), "index", str(photos)]) == 0
    assert main(["--library", str(library), "labels", "add", "red", "blue"]) == 0
    first = str(photos / "first" / "red0.jpg")
    assert main(["--library", str(library), "tag", first, "blue", "--confirm"]) == 0
    assert main(["--library", str(library), "tag", first, "red", "--reject"]) == 0
    for i in range(150):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        make_photo(photos / "more" / f"p{i:03}.jpg", colour, seed=100 + i, size=(480, 360))
    originals = _digest(photos)

    for _ in range(5):
        child = _child(library, photos)
        time.sleep(rng.uniform(0.5, 5.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        with sqlite3.connect(library / "library.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    final = _child(library, photos)
    assert final.wait(timeout=300) == 0

    with sqlite3.connect(library / "library.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        paths = [r[0] for r in conn.execute("SELECT path FROM photos")]
        assert len(paths) == len(set(paths)) == 156
        per_photo = conn.execute(
            "SELECT p.path, COUNT(e.photo_id) FROM photos p LEFT JOIN embeddings e ON e.photo_id = p.id"
            " GROUP BY p.id").fetchall()
        assert all(n == 1 for _, n in per_photo), [p for p, n in per_photo if n != 1][:5]
        decisions = conn.execute(
            "SELECT l.name, d.state, d.source FROM tag_decisions d JOIN labels l ON l.id = d.label_id"
            " JOIN photos p ON p.id = d.photo_id WHERE p.path = ? ORDER BY l.name", (first,)).fetchall()
        assert decisions == [("blue", "confirmed", "manual"), ("red", "rejected", "auto")]
        assert [r[0] for r in conn.execute("SELECT name FROM labels ORDER BY name")] == ["blue", "red"]
    assert _digest(photos) == originals
