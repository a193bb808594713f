"""Run read-only queries off the GUI thread and hand their results back to it.

One background thread with its own read-only connection: WAL readers never wait for the
scanning worker's writes, and the GUI thread never touches SQLite at all.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from photomgr.core.library.database import connect

log = logging.getLogger(__name__)

T = TypeVar("T")
Query = Callable[[sqlite3.Connection], T]


class QueryRunner(QObject):
    """`submit(query, on_result)`: `query(conn)` runs in the reader thread, `on_result` on the GUI thread."""

    failed = Signal(str)
    # (callback, value): emitted from the reader thread; Qt queues it to this object's thread.
    _delivered = Signal(object, object)

    def __init__(self, database: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._database = database
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui-reader")
        self._local = threading.local()
        self._closed = False
        self._delivered.connect(self._deliver)

    def submit(self, query: Query[T], on_result: Callable[[T], None],
               on_error: Callable[[str], None] | None = None) -> None:
        """`on_error(message)` runs on the GUI thread if the query raises (`failed` is emitted too)."""
        if self._closed:
            return
        self._pool.submit(self._run, query, on_result, on_error)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._database, readonly=True)
            self._local.conn = conn
        return conn

    def _run(self, query: Query[Any], on_result: Callable[[Any], None],
             on_error: Callable[[str], None] | None) -> None:
        if self._closed:
            return
        try:
            value = query(self._connection())
        except Exception as exc:  # shown to the user, never swallowed
            log.exception("query failed")
            message = f"Could not read the library: {exc}"
            if not self._closed:
                self.failed.emit(message)
                if on_error is not None:
                    self._delivered.emit(on_error, message)
            return
        if not self._closed:
            self._delivered.emit(on_result, value)

    @Slot(object, object)
    def _deliver(self, on_result: Callable[[Any], None], value: Any) -> None:
        if not self._closed:
            on_result(value)

    def close(self) -> None:
        """Stop delivering; the reader thread finishes its current query and closes its connection."""
        if self._closed:
            return
        self._closed = True

        def close_conn() -> None:
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()

        self._pool.submit(close_conn)
        self._pool.shutdown(wait=False, cancel_futures=False)


class CoalescedQuery(QObject):
    """A query re-run on demand, at most one in flight and at most once per interval.

    `trigger()` during a scan may come several times a second; this turns that into one
    query whenever the last one is done and the interval has passed. The interval grows
    with the query's cost (4x its duration), so a 100,000-photo library is not re-read
    back to back while a scan competes for the CPU. `invalidate()` is for changed
    parameters (another folder): the result in flight is dropped and the query re-runs.
    """

    def __init__(self, runner: QueryRunner, make_query: Callable[[], Query[Any]],
                 on_result: Callable[[Any], None], *, min_interval_ms: int = 400,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._make_query = make_query
        self._on_result = on_result
        self._min_interval_ms = min_interval_ms
        self._interval_ms = min_interval_ms
        self._in_flight = False
        self._dirty = False
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)
        self._started = 0.0

    @property
    def busy(self) -> bool:
        return self._in_flight or self._timer.isActive() or self._dirty

    def trigger(self, *, immediate: bool = False) -> None:
        if self._in_flight:
            self._dirty = True
        elif immediate:
            self._timer.stop()
            self._run()
        elif not self._timer.isActive():
            wait = self._interval_ms - (time.monotonic() - self._started) * 1000.0
            self._timer.start(max(0, int(wait)))

    def invalidate(self) -> None:
        self._generation += 1
        self.trigger(immediate=True)

    @Slot()
    def _run(self) -> None:
        self._in_flight, self._dirty = True, False
        self._started = time.monotonic()
        generation = self._generation
        query = self._make_query()

        def timed(conn: sqlite3.Connection) -> tuple[float, Any]:
            t0 = time.perf_counter()
            value = query(conn)
            return time.perf_counter() - t0, value

        self._runner.submit(timed, lambda result: self._done(generation, result), self._error)

    def _error(self, _message: str) -> None:
        self._in_flight = False  # the runner has reported it; a later trigger() tries again

    def _done(self, generation: int, result: tuple[float, Any]) -> None:
        seconds, value = result
        self._in_flight = False
        self._interval_ms = max(self._min_interval_ms, int(4000 * seconds))
        if generation != self._generation:
            self._run()  # parameters changed while this ran: its answer is for the old ones
            return
        self._on_result(value)
        if self._dirty:
            self.trigger()
