"""A `photomgr index` child process for the kill -9 test: the real CLI, with the fake model
slowed down so that a kill lands mid-scan, mid-embedding or mid-commit."""

from __future__ import annotations

import sys
import time

import photomgr.core.services.model_choice as model_choice
from photomgr.cli.main import main
from tests.fakes import FakeEmbedder


class SlowFake(FakeEmbedder):
    def embed_images(self, batch):  # type: ignore[no-untyped-def]
        time.sleep(0.01 * len(batch))
        return super().embed_images(batch)


def _load(backend: str, **kwargs: object) -> FakeEmbedder:
    return SlowFake()


if __name__ == "__main__":
    model_choice.load_embedder = _load  # type: ignore[assignment]
    model_choice.load_text_encoder = _load  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))
