"""Indexing yields to interactive work: `photomgr index` lowers its own CPU priority."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from photomgr.cli.main import main
from photomgr.core.services.priority import INDEX_NICENESS
from tests.conftest import REPO, make_photo


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no nice() on this platform")
def test_lower_priority_is_at_least_the_index_niceness_and_idempotent() -> None:
    code = ("from photomgr.core.services.priority import lower_priority as low; "
            "print(low(), low(), low(3))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout.split()
    start = os.nice(0)
    want = max(start, INDEX_NICENESS)
    assert out == [str(want), str(want), str(want)]


@pytest.mark.parametrize(("argv", "lowered"), [([], True), (["--priority", "normal"], False)])
def test_index_runs_at_low_priority_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 argv: list[str], lowered: bool) -> None:
    calls: list[int] = []
    monkeypatch.setattr("photomgr.cli.index_cmd.lower_priority", lambda: calls.append(1))
    make_photo(tmp_path / "photos" / "a.jpg")
    assert main(["--library", str(tmp_path / "lib"), "index", *argv, "--no-embed",
                 str(tmp_path / "photos")]) == 0
    assert bool(calls) == lowered
