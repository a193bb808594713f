"""The numpy MiniLM gives sentence-transformers' vectors, and the default model's label vectors
and routes do not change with it."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from photomgr.core.models.text_bridge import (
    CLASS_TEXT_WEIGHT_GLOSS,
    TextBridge,
    imagenet_classes,
    load_minilm,
)
from photomgr.core.models.text_numpy.minilm import MiniLM, length_batches
from photomgr.core.models.text_numpy.ops import erf, gelu
from tests.conftest import REPO


def varied_texts(n: int = 300, seed: int = 0) -> list[str]:
    """Class names and definitions, made-up captions, and the awkward cases: unicode, accents,
    CJK, emoji, punctuation, numbers, empty and over-long texts (cut at 256 tokens)."""
    rng = random.Random(seed)
    classes = imagenet_classes()
    picked = rng.sample(classes, 120)
    texts = [c.names[0] for c in picked[:60]]
    texts += [f"{', '.join(c.names)}: {c.definition}" for c in picked[60:]]
    words = ["dog", "beach", "red", "car", "sunset", "mountain", "my", "grandmother", "birthday", "cake",
             "in", "the", "snow", "two", "children", "playing", "with", "a", "ball", "near", "river"]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 14))) for _ in range(100)]
    texts += ["Ünïcödé café naïve — “quotes”", "红色的汽车", "東京タワー at night", "🐶🐱 party 🎉",
              "Hello, World!!! It's 2026; we'll see...", "3.14159 1e-9 #42 @home", "", "   ", "x" * 700,
              " ".join(["word"] * 400), "résumé Zürich Ελληνικά русский", "tabs\tand\nnewlines",
              "ALL CAPS SHOUTING", "don't stop-believing", "[CLS] [SEP] [MASK]"]
    return (texts * math.ceil(n / len(texts)))[:n] if len(texts) < n else texts


@pytest.fixture(scope="module")
def numpy_minilm() -> MiniLM:
    return MiniLM()


@pytest.fixture(scope="module")
def torch_minilm() -> object:
    return load_minilm("cpu")


def test_erf_and_gelu_to_float32_precision() -> None:
    x = np.linspace(-9, 9, 20001, dtype=np.float32)
    want = np.array([math.erf(float(v)) for v in x])
    assert np.abs(erf(x) - want).max() < 5e-7
    want_gelu = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert np.abs(gelu(x.copy()) - want_gelu).max() < 5e-6


def test_same_vectors_as_sentence_transformers(numpy_minilm: MiniLM, torch_minilm: object) -> None:
    texts = varied_texts()
    assert len(texts) >= 250
    ours = numpy_minilm.encode(texts)
    theirs = torch_minilm.encode(texts, batch_size=32, convert_to_numpy=True,  # type: ignore[attr-defined]
                                 normalize_embeddings=True, show_progress_bar=False)
    assert ours.shape == theirs.shape == (len(texts), 384) and ours.dtype == np.float32
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.9999, texts[int(cosines.argmin())]
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_text_gets_the_same_vector_alone_or_in_a_batch(numpy_minilm: MiniLM) -> None:
    texts = ["dog", "a much longer sentence about a dog running on the beach at sunset", "x" * 300]
    batch = numpy_minilm.encode(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(numpy_minilm.encode([text])[0], batch[i], atol=2e-6)
    assert numpy_minilm.encode([]).shape == (0, 384)


def test_length_batches_split_long_from_short() -> None:
    assert length_batches([3, 3, 4], 32) == [[0, 1, 2]]
    assert length_batches([3, 4, 40, 41], 32) == [[0, 1], [2, 3]]
    assert length_batches([5] * 5, 2) == [[0, 1], [2, 3], [4]]


def test_default_label_vectors_and_routes_unchanged(torch_minilm: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The default model's label vectors (class weights, route, learned vector) from the numpy
    MiniLM equal those sentence-transformers gives; and so do the tagging decisions that follow."""
    from photomgr.core.models.default_text import DefaultTextEncoder

    labels = [["dog"], ["red car"], ["leopard"], ["birthday party"], ["a photo of my grandmother"],
              ["beach", "sea shore"], ["東京タワー"], ["sunset over the mountains"]]
    numpy_side = DefaultTextEncoder()
    ours = [numpy_side.embed_label(p) for p in labels]
    routes = [numpy_side.route(p)[1] for p in labels]

    def torch_encode(self: TextBridge, texts: list[str]) -> np.ndarray:
        return torch_minilm.encode(list(texts), convert_to_numpy=True,  # type: ignore[attr-defined]
                                   normalize_embeddings=True, show_progress_bar=False)

    monkeypatch.setattr(TextBridge, "encode", torch_encode)
    torch_side = DefaultTextEncoder()
    assert [torch_side.route(p)[1] for p in labels] == routes
    rng = np.random.default_rng(0)
    photos = rng.standard_normal((500, len(ours[0]))).astype(np.float32)
    for prompts, vector in zip(labels, ours, strict=True):
        theirs = torch_side.embed_label(prompts)
        np.testing.assert_allclose(vector, theirs, atol=2e-5)
        assert np.array_equal(np.argsort(-vector[:1000])[:5], np.argsort(-theirs[:1000])[:5])
        # the same photos above and below any score threshold
        s_ours, s_theirs = photos @ vector, photos @ theirs
        assert np.array_equal(np.argsort(-s_ours)[:50], np.argsort(-s_theirs)[:50])


def test_shipped_class_matrix_matches_the_numpy_minilm(numpy_minilm: MiniLM, tmp_path: object) -> None:
    """The class matrix in resources/ (made with sentence-transformers) stays valid: recomputed
    with the numpy MiniLM it is the same to float precision, so its cache key need not change."""
    bridge = TextBridge()
    shipped = bridge._read_shipped()
    if shipped is None:
        pytest.skip("the shipped class matrix does not match this install's versions")
    sample = list(range(0, 1000, 25))
    classes = [bridge.classes[i] for i in sample]
    names = [", ".join(c.names) for c in classes]
    glosses = [f"{n}: {c.definition}" if c.definition else n for n, c in zip(names, classes, strict=True)]
    mixed = (1 - CLASS_TEXT_WEIGHT_GLOSS) * numpy_minilm.encode(names)
    mixed += CLASS_TEXT_WEIGHT_GLOSS * numpy_minilm.encode(glosses)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    assert (mixed * shipped[sample]).sum(axis=1).min() >= 0.9999



def test_text_encoding_runs_blas_on_one_thread_and_restores_it() -> None:
    """One BLAS thread during each embed (seen from inside a product), the process' own count
    before and after, whether the embed runs in the main thread or in a worker."""
    code = ("import json, threading\n"
            "from threadpoolctl import threadpool_info\n"
            "import photomgr.core.models.text_numpy.minilm as m\n"
            "def blas(): return [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
            "during = []\n"
            "real = m.linear\n"
            "def spy(*args):\n"
            "    during.append(blas())\n"
            "    return real(*args)\n"
            "m.linear = spy\n"
            "seen = [blas()]\n"
            "m.shared_minilm().encode(['dog'])\n"
            "seen.append(blas())\n"
            "worker = threading.Thread(target=m.shared_minilm().encode, args=(['a cat on a mat'],))\n"
            "worker.start(); worker.join()\n"
            "seen.append(blas())\n"
            "print(json.dumps({'seen': seen, 'during': sorted({tuple(d) for d in during}),"
            " 'n': len(during)}))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO, env=env).stdout
    result = json.loads(out)
    assert result["seen"] == [[2], [2], [2]]  # before, after the main thread's, after the worker's
    assert result["during"] == [[1]] and result["n"] > 0
