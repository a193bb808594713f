"""How an image tower runs on the CPU: bfloat16 where the processor computes it natively.

Measured (docs/benchmarks.md, "CPU inference options"): on a CPU with AMX or AVX512-BF16,
CLIP ViT-B-32's image tower in bfloat16 runs about twice as fast as in float32 with image
vectors at cosine >= 0.999 to float32 on real photos. Without those instructions oneDNN emulates
bfloat16 and it is slower than float32, so "auto" keeps float32 there. Text towers stay float32:
a query embeds a handful of sentences, and float32 keeps label vectors identical to those of the
text-only encoders.

PHOTOMGR_CPU_PRECISION=fp32 turns it off (bf16 forces it on, for measuring).

OpenMP's threads wait passively between torch's parallel regions (`passive_openmp_wait`): by
default they spin, and on a 2-core machine the spinning threads take the cores the decode
threads need (measured: 80 -> 67 ms of CPU per camera photo over a whole index, section 10).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ENV_PRECISION = "PHOTOMGR_CPU_PRECISION"  # "auto" (default) | "fp32" | "bf16"


def passive_openmp_wait() -> None:
    """OMP_WAIT_POLICY=PASSIVE unless the user set a policy. OpenMP reads it once, when torch
    loads it, so this runs when photomgr.core.models is first imported, before any torch import."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def native_bf16() -> bool:
    """True when this CPU has bfloat16 matrix instructions (AMX tiles or AVX512-BF16)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    try:
        return any(check() for check in checks if check is not None)
    except RuntimeError:
        return False


def image_tower_dtype(device: str) -> torch.dtype:
    """The dtype an image tower should run in on `device` (float32 everywhere but native-bf16 CPUs)."""
    import torch

    choice = os.environ.get(ENV_PRECISION, "auto").strip().lower()
    if device != "cpu" or choice in ("fp32", "float32"):
        return torch.float32
    if choice in ("bf16", "bfloat16"):
        return torch.bfloat16
    return torch.bfloat16 if native_bf16() else torch.float32
