"""A bounded look-ahead pool: workers run ahead of the consumer, but never too far.

Decoding JPEGs releases the GIL inside Pillow, so threads overlap decoding with the model's
batches (torch also releases the GIL). The bound keeps memory flat on a 100,000-photo scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def lookahead_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    ahead: int,
    cancel: threading.Event | None = None,
) -> Iterator[R]:
    """Yield fn(item) for every item, in completion order, with at most `ahead` in flight.

    `fn` must not raise: it turns failures into values (a bad file is data, not a crash).
    When `cancel` is set, no new work starts and the pending results are dropped; so are
    they when the consumer stops early (closes the generator, or Ctrl-C), without waiting.
    """
    source = iter(items)
    pending: set[Future[R]] = set()
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode")
    finished = False
    try:
        while True:
            while len(pending) < ahead and not (cancel and cancel.is_set()):
                try:
                    item = next(source)
                except StopIteration:
                    break
                pending.add(pool.submit(fn, item))
            if not pending:
                finished = True
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
            if cancel and cancel.is_set():
                return
    finally:
        # Stopped early (cancel, Ctrl-C, an error in the consumer): do not wait for the files
        # being decoded right now; they finish in the background and their results are dropped.
        for future in pending:
            future.cancel()
        pool.shutdown(wait=finished, cancel_futures=True)
