"""Byte-exact paths as database text, and paths shown safely (core/fspaths.py)."""

from __future__ import annotations

import os
import random

import pytest

from photomgr.core.fspaths import display_path, path_from_db, path_to_db


def test_utf8_paths_are_stored_unchanged() -> None:
    for path in ["/photos/a.jpg", "/fotos/été/ß.jpg", "/写真/猫.png", "/emoji/👨\u200d👩\u200d👧.jpg"]:
        assert path_to_db(path) == path
        assert path_from_db(path) == path


@pytest.mark.skipif(os.name != "posix", reason="POSIX paths are bytes")
def test_any_bytes_round_trip() -> None:
    rng = random.Random(7)
    alphabet = [bytes([b]) for b in range(1, 256) if b != ord("/")] + [
        "\ufffd".encode(), "é".encode(), b"/"]
    for _ in range(2000):
        raw = b"/" + b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        path = os.fsdecode(raw)
        stored = path_to_db(path)
        stored.encode("utf-8")  # valid text: SQLite takes it
        assert path_from_db(stored) == path
        assert os.fsencode(path_from_db(stored)) == raw


def test_distinct_paths_stay_distinct() -> None:
    bad_byte = os.fsdecode(b"/a\xe9")
    look_alike = "/a\ufffdE9"  # a real name spelled like the escape of the byte
    assert path_to_db(bad_byte) != path_to_db(look_alike)
    assert path_from_db(path_to_db(look_alike)) == look_alike


def test_folder_prefix_survives_encoding() -> None:
    folder = os.fsdecode(b"/p/\xe9t\xe9")
    child = folder + "/x.jpg"
    assert path_to_db(child).startswith(path_to_db(folder) + "/")


def test_display_escapes_what_a_terminal_would_obey() -> None:
    assert display_path("/p/plain name.jpg") == "/p/plain name.jpg"
    assert display_path("/p/été 猫.jpg") == "/p/été 猫.jpg"
    assert display_path("/p/\x1b[31mred\x1b[0m\n\r\t\x7f\x9b.jpg") == (
        "/p/\\x1b[31mred\\x1b[0m\\x0a\\x0d\\x09\\x7f\\x9b.jpg")
    assert display_path("/p/\u202egpj.exe") == "/p/\\u202egpj.exe"
    assert display_path(os.fsdecode(b"/p/caf\xe9.jpg")) == "/p/caf\\xe9.jpg"
    assert display_path(b"/p/caf\xe9.jpg") == "/p/caf\\xe9.jpg"
