"""PhotoStore.find and stored_forms: what the user typed names the file the OS would open."""

from __future__ import annotations

import os
from pathlib import Path

from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.transaction import write_transaction


def test_dot_dot_after_a_link_is_the_os_s_dot_dot_not_the_text_s(tmp_path: Path) -> None:
    # Found in review: os.path.abspath removed "link/.." as text, so "link/../b/x.jpg" found the
    # library's <tmp>/b/x.jpg while the OS opens <tmp>/real/b/x.jpg (the link's target's parent).
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "real" / "b").mkdir()
    (tmp_path / "b").mkdir()
    os.symlink(tmp_path / "real" / "deep", tmp_path / "link")
    for photo in (tmp_path / "real" / "b" / "x.jpg", tmp_path / "b" / "x.jpg"):
        photo.write_bytes(b"jpeg")
    with Library(tmp_path / "lib") as lib:
        store = PhotoStore(lib.conn)
        with write_transaction(lib.conn):
            for root in (tmp_path / "real", tmp_path / "b"):
                store.add_root(root)
            for photo in (tmp_path / "real" / "b" / "x.jpg", tmp_path / "b" / "x.jpg"):
                lib.conn.execute("INSERT INTO photos (path, size, mtime_ns, added_at, updated_at) "
                                 "VALUES (?, 1, 2, 'x', 'y')", (str(photo),))
        typed = Path(f"{tmp_path}/link/../b/x.jpg")
        found = store.find(typed)
        assert found is not None and found.path == str(tmp_path / "real" / "b" / "x.jpg")
        folder_forms = store.stored_forms(Path(f"{tmp_path}/link/../b"), folder=True)
        assert tmp_path / "b" not in folder_forms  # xmp write would have written there
        # Without a link, ".." is plain text and still found as typed.
        plain = store.find(Path(f"{tmp_path}/real/deep/../b/x.jpg"))
        assert plain is not None and plain.path == str(tmp_path / "real" / "b" / "x.jpg")
