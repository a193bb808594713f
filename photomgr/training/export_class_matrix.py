"""Ship the text bridge's ImageNet class matrix in resources/, so no library computes it again.

    python -m photomgr.training.export_class_matrix

The matrix is MiniLM's embedding of the 1000 ImageNet class names and definitions (timm's
tables): deterministic, no training data involved. It is stored with the cache key of the
versions that made it; photomgr uses it only when its own versions give the same key, and
otherwise computes (and caches per library) its own.
"""

from __future__ import annotations

import sys

import numpy as np
from safetensors.numpy import save_file

from photomgr.core.models.text_bridge import SHIPPED_CLASS_MATRIX, TextBridge, _cache_key
from photomgr.resources import resources_dir


def main() -> int:
    matrix = TextBridge()._compute_class_matrix()
    target = resources_dir() / SHIPPED_CLASS_MATRIX
    save_file({"classes": np.ascontiguousarray(matrix, dtype=np.float32)}, str(target),
              metadata={"cache_key": _cache_key()})
    print(f"wrote {target} {matrix.shape} (cache key {_cache_key()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
