"""The few transformer building blocks the numpy text encoders need, in float32."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# Coefficients of erfc(z) ~ t * exp(-z^2 + P(t)), t = 1 / (1 + z/2) (Numerical Recipes' erfcc):
# fractional error below 1.2e-7 everywhere, i.e. float32 precision. numpy has no erf, and BERT's
# GELU is the exact (erf) one; scipy would add a dependency and 0.3 s of import for one function.
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
         0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def erf(x: np.ndarray) -> np.ndarray:
    z = np.abs(x, dtype=np.float32)
    t = z * np.float32(0.5)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = np.full_like(t, _ERFC[-1])
    for c in _ERFC[-2::-1]:  # Horner, in place: this runs over every MLP activation
        poly *= t
        poly += np.float32(c)
    z *= z
    poly -= z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x|)
    np.subtract(np.float32(1.0), poly, out=poly)
    return np.copysign(poly, x, out=poly)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, x * Phi(x) (torch.nn.GELU() and BERT's "gelu")."""
    phi = erf(x * np.float32(1.0 / np.sqrt(2.0)))
    phi += np.float32(1.0)
    phi *= x
    phi *= np.float32(0.5)
    return phi


def quick_gelu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(1.702 x): OpenAI CLIP's activation."""
    return (x / (1.0 + np.exp(np.float32(-1.702) * x))).astype(np.float32, copy=False)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return (centred / np.sqrt(var + np.float32(eps)) * weight + bias).astype(np.float32, copy=False)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x @ weight (+ bias) over the last axis; weight is (in, out). Flattened to one 2-D product:
    numpy runs a 3-D @ 2-D matmul as many small ones, several times slower."""
    y = x.reshape(-1, x.shape[-1]) @ weight
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[1])


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, bias: np.ndarray) -> np.ndarray:
    """Multi-head scaled dot-product attention.

    q, k, v: (B, L, W); bias: additive, broadcastable to (B, heads, L, L) (0 = attend, a large
    negative number = masked). Returns (B, L, W) with the heads concatenated again.
    """
    b, n, width = q.shape
    dim = width // heads

    def split(x: np.ndarray) -> np.ndarray:
        return x.reshape(b, n, heads, dim).transpose(0, 2, 1, 3)

    scores = split(q) @ split(k).transpose(0, 1, 3, 2)
    scores *= np.float32(1.0 / np.sqrt(dim))
    scores += bias
    out = softmax(scores) @ split(v)
    return out.transpose(0, 2, 1, 3).reshape(b, n, width)


_blas_lock = threading.Lock()
_controller: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS uses one thread inside this block; the count it found is put back after.

    The text encoders' products are small (a few sentences): OpenBLAS' threads cost more than
    they save, and on a busy machine (an index running) they spin for hundreds of milliseconds
    per product, where one thread does a text in milliseconds. Outside an embed the process keeps
    its own count (a user's numpy work is not slowed). OpenBLAS' count is process-wide, and a
    count put back from another thread than the one that lowered it does not take effect: so the
    limit is lowered and restored in the same thread, and the lock keeps embeds from
    overlapping, so each one restores the count it found (not another embed's 1).
    """
    global _controller
    with _blas_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()  # made once: a limit and restore then cost ~7 µs
        with _controller.limit(limits=1, user_api="blas"):
            yield


# Masked positions get this instead of -inf: exp() of it is exactly 0 in float32, and a row that
# is all masked (never the case here) would give a uniform average rather than NaNs.
MASKED = np.float32(-1e9)
