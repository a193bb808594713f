"""`photomgr watch` as a user runs it: catch up, pick up a new photo, stop cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from photomgr.cli.main import main
from tests.conftest import REPO, make_photo


def _line(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip():
            return json.loads(line)  # type: ignore[no-any-return]
    raise AssertionError("photomgr watch printed nothing")


def test_watch_picks_up_new_photos_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    lib = tmp_path / "lib"
    assert main(["--library", str(lib), "index", str(photos), "--no-embed", "--json"]) == 0
    # faulthandler: a watch that does not stop prints every thread's stack on SIGABRT (below)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "photomgr.cli.main", "--library", str(lib), "watch",
                             "--no-embed", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=_sigint_as_in_a_terminal)
    try:
        first = _line(proc)
        assert first["photos"] == 1 and first["new"] == 0  # caught up: nothing changed meanwhile
        make_photo(photos / "b.jpg", seed=2)
        second = _line(proc, 30)
        assert second["new"] == 1 and second["roots"] == [str(photos)]
    finally:
        err = _interrupt(proc)
    assert proc.returncode == 0, err
    assert "stopped watching" in err


def _interrupt(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a user presses it; a watch that does not stop fails with every thread's stack."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        err = proc.communicate(timeout=20)[1]
        raise AssertionError(f"photomgr watch did not stop on Ctrl-C:\n{err[-6000:]}") from None


def _sigint_as_in_a_terminal() -> None:
    # A test run started in the background of a non-interactive shell (`make test &`, a CI
    # runner) inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler:
    # the watch would rightly ignore our Ctrl-C. A user's terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_needs_a_folder(tmp_path: Path) -> None:
    assert main(["--library", str(tmp_path / "lib"), "watch"]) == 2
