"""Descriptions as user operations: read them, write the user's own, clear it, generate missing
ones, and the library setting that turns the model's descriptions on or off.

The user's description is stored apart from the model's (core/library/descriptions.py): setting
it hides the model's, clearing it shows the model's again, and no model ever writes over it.
`set_user` returns the text it replaced, which is what the window's undo puts back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from photomgr.core.library import descriptions
from photomgr.core.library.descriptions import Description
from photomgr.core.library.settings import Settings
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, write_transaction
from photomgr.core.library.vectors import PendingPhoto
from photomgr.core.ops.changes import OpChanges, OpResult

if TYPE_CHECKING:
    from photomgr.core.models.base import Embedder

ENABLED_KEY = "descriptions.enabled"  # "0": the model writes no descriptions (default: on)


def descriptions_enabled(settings: Settings) -> bool:
    """Does indexing write a model's description for each photo? On unless turned off."""
    return settings.get(ENABLED_KEY, "1") != "0"


class DescriberUnavailable(Exception):
    """The loaded model writes no descriptions; the message says why and what to do. The CLI
    answers it like an unavailable model (exit 4)."""


@dataclass
class Generated:
    described: dict[int, Description] = field(default_factory=dict)  # the new descriptions
    failed: int = 0  # photos that could not be read


class DescriptionOps:
    def __init__(self, conn: sqlite3.Connection, wait: WaitPolicy = DEFAULT_WAIT) -> None:
        self.conn = conn
        self.wait = wait

    # -- reading ---------------------------------------------------------------------------
    def of(self, photo_ids: Sequence[int]) -> dict[int, Description]:
        """The description each photo shows (the user's, else the model's); none: absent."""
        return descriptions.shown(self.conn, photo_ids)

    def one(self, photo_id: int) -> Description | None:
        return descriptions.shown_one(self.conn, photo_id)

    def missing(self, photo_ids: Sequence[int]) -> list[PendingPhoto]:
        """Those of `photo_ids` that are usable photos without any description."""
        return descriptions.missing(self.conn, photo_ids)

    def enabled(self) -> bool:
        return descriptions_enabled(Settings(self.conn))

    # -- writing ---------------------------------------------------------------------------
    def set_enabled(self, on: bool) -> OpResult[bool]:
        """Turn the model's descriptions on or off for the next index (the user's stay)."""
        with write_transaction(self.conn, self.wait) as rev:
            Settings(self.conn).set(ENABLED_KEY, "1" if on else "0")
        return OpResult(on, OpChanges(rev))

    def set_user(self, photo_id: int, text: str | None) -> OpResult[str | None]:
        """Set the user's description of a photo (None or blank text clears it, and the model's
        shows again). The value is the user's description it replaced: what an undo restores."""
        with write_transaction(self.conn, self.wait) as rev:
            if not descriptions.photo_exists(self.conn, photo_id):
                raise ValueError(f"no photo with id {photo_id} in the library")
            before = descriptions.set_user(self.conn, photo_id, text)
        return OpResult(before, OpChanges(rev, descriptions=frozenset({photo_id})))

    def clear_user(self, photo_id: int) -> OpResult[str | None]:
        return self.set_user(photo_id, None)

    def generate(self, photo_ids: Sequence[int], embedder: Embedder, *, workers: int = 2
                 ) -> OpResult[Generated]:
        """Write the model's description of each of `photo_ids` that has none. The model runs
        first, with no transaction open; the descriptions are then written in one."""
        from photomgr.core.models.base import describer_status
        from photomgr.core.pipeline.describing import describe_photos

        todo = self.missing(photo_ids)
        if not todo:
            return OpResult(Generated())
        problem = describer_status(embedder)
        if problem is not None:
            raise DescriberUnavailable(problem)
        found = describe_photos(embedder, self.conn, todo, workers=workers)
        if not found.texts or found.model_id is None:
            return OpResult(Generated(failed=found.failed))
        with write_transaction(self.conn, self.wait) as rev:
            descriptions.put_model(self.conn, found.model_id, found.texts)
            done = descriptions.shown(self.conn, [pid for pid, _ in found.texts])
        return OpResult(Generated(done, found.failed),
                        OpChanges(rev, descriptions=frozenset(done)))
