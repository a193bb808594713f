"""What an operation changed, so that each view decides for itself what to redraw.

The pattern is Anki's OpChanges: a write operation runs in one transaction and returns an
`OpResult` (its value plus an `OpChanges`); the GUI broadcasts the changes and every view looks
at the fields it cares about; the CLI ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class OpChanges:
    revision: int = 0  # the library revision after the operation (transaction.revision)
    label_list: bool = False  # labels were added, removed or renamed
    labels: frozenset[int] = frozenset()  # labels whose prompts, threshold or decisions changed
    photos: frozenset[int] = frozenset()  # photos whose tags changed
    vectors: bool = False  # photos' vectors or the active model changed: every score may move
    descriptions: frozenset[int] = frozenset()  # photos whose shown description changed

    @property
    def tags(self) -> bool:
        """Does anything a tag list shows depend on this change?"""
        return self.label_list or bool(self.labels) or self.vectors


@dataclass(frozen=True)
class OpResult(Generic[T]):
    value: T
    changes: OpChanges = field(default_factory=OpChanges)
