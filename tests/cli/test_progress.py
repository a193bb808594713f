"""The CLI's progress bar (tqdm, fed the core's (done, total) callbacks)."""

from __future__ import annotations

import io

from photomgr.cli.progress import ProgressBar


def test_draws_count_and_total_then_clears() -> None:
    out = io.StringIO()
    bar = ProgressBar("Indexing", stream=out, enabled=True)
    for done in range(11):
        bar.update(done, 10)
    bar.close()
    text = out.getvalue()
    assert "Indexing" in text and "10/10" in text
    assert text.endswith("\r") and not text.split("\r")[-2].strip()  # the line is blanked at the end


def test_unknown_total_shows_count_and_note() -> None:
    out = io.StringIO()
    bar = ProgressBar("Finding photos", stream=out, enabled=True, min_interval=0)
    bar.update(0, 0, "/photos/a.jpg")
    bar.update(7, 0, "/photos/b.jpg")
    bar.close()
    assert "7" in out.getvalue() and "b.jpg" in out.getvalue()


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()  # isatty() is False
    bar = ProgressBar("Indexing", stream=out)
    bar.update(5, 10)
    bar.close()
    assert out.getvalue() == ""
