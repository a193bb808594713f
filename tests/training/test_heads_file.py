"""The trainer's heads file is the same bytes whenever the same heads and constants are saved."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from photomgr.training.train_heads import save


def test_the_same_heads_and_constants_make_the_same_file(tmp_path: Path) -> None:
    tensors = {"image.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4),
               "text.weight": torch.ones(2, 4, dtype=torch.float32)}
    fusion = {"eps": 0.01, "hier": {"a": [1.0, 0.1]}, "bridge": {"a": [0.5, 0.2]}}
    meta = {"seed": "0", "data": "captions", "train_photos": "6", "args": "{}", "zeta": "z", "alpha": "a"}
    save(tensors, fusion, tmp_path / "a.safetensors", meta, templates=("{}",))
    save(tensors, fusion, tmp_path / "b.safetensors", dict(reversed(list(meta.items()))), templates=("{}",))
    raw = (tmp_path / "a.safetensors").read_bytes()
    assert raw == (tmp_path / "b.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert (8 + n) % 8 == 0
    keys = list(json.loads(raw[8:8 + n])["__metadata__"])
    assert keys == sorted(["version", "fusion", "label_templates", *meta])
    with safe_open(str(tmp_path / "a.safetensors"), framework="pt") as fh:
        assert fh.metadata()["zeta"] == "z" and json.loads(fh.metadata()["fusion"]) == fusion
        assert torch.equal(fh.get_tensor("image.weight"), tensors["image.weight"])
        assert torch.equal(fh.get_tensor("text.weight"), tensors["text.weight"])
