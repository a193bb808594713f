"""LibraryOps.sync notices vectors another process stored (a CLI `index` beside a window)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from photomgr.core.library.database import Library
from photomgr.core.library.transaction import write_transaction
from photomgr.core.library.vectors import VectorStore
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.core.pipeline.embedding import EmbeddingSink
from tests.fakes import FakeEmbedder


@pytest.fixture
def window_and_cli(tmp_path: Path) -> Iterator[tuple[LibraryOps, Library]]:
    """The window's operations and a second connection to the same library (another process)."""
    window, cli = Library(tmp_path / "lib"), Library(tmp_path / "lib")
    yield LibraryOps(window), cli
    cli.close()
    window.close()


def _scan_two_photos(cli: Library) -> None:
    with write_transaction(cli.conn):
        cli.conn.execute("INSERT INTO photos (id, path, size, mtime_ns, added_at, updated_at)"
                         " VALUES (1, '/p/a.jpg', 1, 1, 'now', 'now'), (2, '/p/b.jpg', 1, 1, 'now', 'now')")


def test_sync_sees_the_vectors_another_process_embedded(window_and_cli: tuple[LibraryOps, Library]) -> None:
    ops, cli = window_and_cli
    assert not ops.sync()
    _scan_two_photos(cli)
    assert ops.sync()  # the scan's photos: the window re-reads (no vectors yet)
    sink = EmbeddingSink(FakeEmbedder(), VectorStore(cli.conn), batch_size=2)
    sink.add(1, torch.zeros(3, 16, 16))
    sink.add(2, torch.ones(3, 16, 16))  # a full batch: committed in the sink's own transaction
    assert VectorStore(ops.conn).count(FakeEmbedder.info.model_id) == 2
    assert ops.sync()  # the vectors came after the scan's commit: they must be seen too
    assert not ops.sync()


def test_sync_sees_vectors_another_process_adopted(window_and_cli: tuple[LibraryOps, Library]) -> None:
    ops, cli = window_and_cli
    _scan_two_photos(cli)
    store = VectorStore(cli.conn)
    with write_transaction(cli.conn):
        store.put_many("old-heads", [(1, torch.ones(8).numpy(), None)])
    ops.sync()
    assert store.adopt(["old-heads"], "new-heads") == 1
    assert ops.sync()


def test_our_own_write_does_not_hide_another_process_write(
        window_and_cli: tuple[LibraryOps, Library]) -> None:
    """Another process writes, then the window writes before it looks: sync() must still report
    the other write (was: saw() took every revision up to its own as seen). And the window's own
    writes, however many transactions, never count (was: a scan's batches did, once each scan)."""
    ops, cli = window_and_cli
    assert not ops.sync()
    _scan_two_photos(cli)
    with write_transaction(ops.conn):  # the window's own operation, right after
        ops.conn.execute("INSERT INTO labels (name, created_at, updated_at)"
                         " VALUES ('mine', 'now', 'now')")
    assert ops.sync()
    assert not ops.sync()
    with write_transaction(ops.conn):  # with no other writer, its own writes never count
        ops.conn.execute("INSERT INTO labels (name, created_at, updated_at)"
                         " VALUES ('mine too', 'now', 'now')")
    assert not ops.sync()


def test_our_own_scan_and_ops_never_count_as_another_writer(
        window_and_cli: tuple[LibraryOps, Library], tmp_path: Path) -> None:
    """An index run of the window (many batch transactions) and an operation that records its
    end: no refresh is due for them (review: one full refresh after every scan)."""
    from photomgr.core.services.indexing import index_folders
    from tests.conftest import make_photo

    ops, _ = window_and_cli
    for i in range(5):
        make_photo(tmp_path / "photos" / f"p{i}.jpg", seed=i)
    assert not ops.sync()
    index_folders(ops.library, [tmp_path / "photos"])
    ops.record_scan_end([str(tmp_path / "photos")], finished=True)
    assert not ops.sync()
