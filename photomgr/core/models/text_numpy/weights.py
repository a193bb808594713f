"""Safetensors weights as read-only numpy views of a memory map.

Nothing is read at load time: a text model's weights (MiniLM 91 MB, CLIP's text tower 254 MB)
come into memory page by page as the first forward pass touches them, from the page cache when
the file was used recently. The embedding table, the largest tensor, is only ever read at the
rows a text uses.

The header is parsed here rather than through `safetensors.safe_open` because that API copies
every tensor out of its map. The format is plain (an 8-byte length, a JSON header of dtype,
shape and byte range per tensor, the raw data); every range and size is checked against the
file before a view is made, so a damaged or hostile file gives a ValueError, never a view
outside the map.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}
_MAX_HEADER = 100 << 20


class SafetensorsWeights:
    """name -> float32 array (a view of the map for float32 tensors, which text models store)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            head = fh.read(8)
            if len(head) != 8:
                raise ValueError(f"{path}: not a safetensors file (too short)")
            length = int.from_bytes(head, "little")
            if not 0 < length <= min(_MAX_HEADER, size - 8):
                raise ValueError(f"{path}: not a safetensors file (header size {length})")
            try:
                header = json.loads(fh.read(length))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path}: damaged safetensors header ({exc})") from exc
        if not isinstance(header, dict):
            raise ValueError(f"{path}: damaged safetensors header")
        meta = header.pop("__metadata__", None) or {}
        self.metadata: dict[str, str] = {str(k): str(v) for k, v in dict(meta).items()}
        data = np.memmap(self.path, dtype=np.uint8, mode="r", offset=8 + length)
        self._arrays: dict[str, np.ndarray] = {}
        for name, info in header.items():
            try:
                dtype = np.dtype(_DTYPES[info["dtype"]])
                shape = tuple(int(d) for d in info["shape"])
                start, end = (int(x) for x in info["data_offsets"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: tensor {name!r} has an unsupported or damaged entry") from exc
            count = int(np.prod(shape, dtype=np.int64))
            if min(shape, default=1) < 0 or not 0 <= start <= end <= len(data) \
                    or end - start != count * dtype.itemsize:
                raise ValueError(f"{path}: tensor {name!r} lies outside the file or has the wrong size")
            self._arrays[name] = data[start:end].view(dtype).reshape(shape)
        self.names = set(self._arrays)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._arrays[name].shape)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name].astype(np.float32, copy=False)

    def rows(self, name: str, ids: np.ndarray) -> np.ndarray:
        """table[ids] of a 2-D table, reading only those rows."""
        ids = np.asarray(ids, np.int64)
        table = self._arrays[name]
        if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
            raise ValueError(f"token id outside the embedding table {name!r}")
        return np.asarray(table[ids], dtype=np.float32)
