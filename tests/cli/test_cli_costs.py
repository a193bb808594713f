"""Commands pay only for what they use: no torch for commands that need no model, only the text
side of the model for label texts and queries, and several labels added in one command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from photomgr.cli.main import main
from photomgr.core.models.base import EmbeddingBatch, l2_normalise
from tests.conftest import REPO, make_photo
from tests.fakes import FakeEmbedder, fake_model  # noqa: F401 - fixture

HEAVY = ("torch", "open_clip", "timm", "sentence_transformers", "transformers")
# What only some commands need: FAISS (similar, duplicates, index), the XMP readers and writers
# (xml.sax pulls urllib.request and http.client), the scanner, Pillow. ~0.25 s idle when the
# parser's modules imported them for every command.
LAZY = ("faiss", "urllib.request", "http.client", "xml.sax.saxutils", "defusedxml",
        "photomgr.core.xmp.parse", "photomgr.core.xmp.merge", "photomgr.core.ops.interop",
        "photomgr.core.scanning.scanner", "photomgr.core.services.indexing", "PIL.Image")

# Runs the CLI in a fresh interpreter and reports which heavy modules it imported.
PROBE = """
import json, sys
from photomgr.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
lazy = sorted(m for m in {lazy!r} if m in sys.modules)
print("PROBE " + json.dumps({{"code": code, "heavy": heavy, "lazy": lazy}}))
"""


@pytest.fixture
def lib(tmp_path: Path, fake_model: FakeEmbedder) -> tuple[Path, Path]:  # noqa: F811
    photos = tmp_path / "photos"
    for i in range(2):
        make_photo(photos / f"red{i}.jpg", (220, 20, 20), seed=i)
        make_photo(photos / f"blue{i}.jpg", (20, 20, 220), seed=10 + i)
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(photos), "--json"]) == 0
    assert main(["--library", str(library), "labels", "add", "red", "blue", "--json"]) == 0
    return library, photos


def probe(library: Path, tmp_path: Path, *argv: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_CACHE": str(tmp_path / "empty-hub")}
    env.pop("PHOTOMGR_CLIP_WEIGHTS", None)
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, lazy=LAZY), "--library",
                           str(library), *argv],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line is not None, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(line[len("PROBE "):])
    assert result["code"] == 0, proc.stderr
    return result


@pytest.mark.parametrize("argv", [
    ["labels", "list"],
    ["tags", "{photo}"],
    ["tags", "--all"],
    ["model"],
    ["tag", "{photo}", "red", "--confirm"],
    ["tag", "{photo}", "blue", "--reject"],
    ["tag", "{photo}", "red", "--clear"],
    ["similar", "{photo}", "-k", "2"],
    ["describe", "{photo}"],  # described while indexing: nothing to generate, no model
    ["describe", "{photo}", "--set", "my red card"],
    ["describe"],  # the status, with whether the captioner is there (files only)
])
def test_commands_that_need_no_model_import_no_torch(lib: tuple[Path, Path], tmp_path: Path,
                                                     argv: list[str]) -> None:
    library, photos = lib
    args = [a.format(photo=photos / "red0.jpg") for a in argv]
    assert probe(library, tmp_path, *args)["heavy"] == []


def test_importing_the_cli_loads_no_faiss_xmp_scanner_or_pillow() -> None:
    code = ("import json, sys, photomgr.cli.main; "
            f"print(json.dumps(sorted(m for m in {LAZY!r} if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, check=True)
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("argv", [
    ["labels", "list"],
    ["tags", "{photo}"],
    ["tag", "{photo}", "red", "--confirm"],
    ["describe", "{photo}"],
])  # `model` looks in the Hugging Face cache, whose client brings urllib
def test_commands_load_only_what_they_use(lib: tuple[Path, Path], tmp_path: Path, argv: list[str]) -> None:
    library, photos = lib
    args = [a.format(photo=photos / "red0.jpg") for a in argv]
    assert probe(library, tmp_path, *args)["lazy"] == []


def test_decisions_never_load_a_model(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    library, photos = lib

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", no_model)
    monkeypatch.setattr("photomgr.core.services.model_choice.load_text_encoder", no_model)
    L = ["--library", str(library)]
    for flag in ("--confirm", "--reject", "--clear"):
        assert main([*L, "tag", str(photos / "blue0.jpg"), "red", flag, "--json"]) == 0
    capsys.readouterr()


def test_label_texts_and_queries_load_only_the_text_side(lib: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    library, _ = lib
    asked: list[str] = []

    def whole_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole model was loaded")

    def text_side(backend: str, **kwargs: object) -> FakeEmbedder:
        asked.append(backend)
        return FakeEmbedder()

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", whole_model)
    monkeypatch.setattr("photomgr.core.services.model_choice.load_text_encoder", text_side)
    L = ["--library", str(library)]
    assert main([*L, "labels", "add", "green", "--json"]) == 0
    capsys.readouterr()
    assert main([*L, "search", "something red", "-k", "1", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [Path(h["path"]).name[:3] for h in hits] == ["red"]
    assert asked == ["clip", "clip"]  # one text-side load per command


def test_add_several_labels_at_once(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    library, _ = lib
    L = ["--library", str(library)]
    capsys.readouterr()
    assert main([*L, "labels", "add", "green", "my car", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in added] == ["green", "my car"]
    assert added[0]["photos"] == 0 and added[1]["photos"] == 0
    assert main([*L, "labels", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [x["name"] for x in listing] == ["blue", "green", "my car", "red"]
    assert {x["name"]: x["photos"] for x in listing}["red"] == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["labels", "add", "a", "b", "--prompt", "a photo of a thing"], "one label"),
    (["labels", "add", "a", "b", "--threshold", "0.3"], "one label"),
    (["labels", "add", "a", "red"], "already exists"),
    (["labels", "add", "a", "a"], "given twice"),
    (["labels", "add", "a", " "], "needs a name"),
])
def test_a_bad_multi_add_adds_nothing(lib: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                      argv: list[str], message: str) -> None:
    library, _ = lib
    L = ["--library", str(library)]
    capsys.readouterr()
    assert main([*L, *argv]) == 2
    assert message in capsys.readouterr().err
    assert main([*L, "labels", "list", "--json"]) == 0
    assert [x["name"] for x in json.loads(capsys.readouterr().out)] == ["blue", "red"]


class FakeDefaultImages(FakeEmbedder):
    """The default model's ids and dimensions with made-up photo vectors: a library the real
    default text side can then serve, without running EfficientNet in the test."""

    def __init__(self) -> None:
        from photomgr.core.models.default_text import default_info
        from photomgr.core.models.heads import load_heads

        self.info = default_info(load_heads())

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        rng = np.random.default_rng(int(batch.sum().item() * 1000) % (1 << 31))
        image = rng.standard_normal((len(batch), 1280)).astype(np.float32)
        probs = rng.dirichlet(np.full(1000, 0.05), len(batch)).astype(np.float32)
        return EmbeddingBatch(l2_normalise(image), probs)


@pytest.fixture
def default_lib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    fake = FakeDefaultImages()
    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", lambda *a, **k: fake)
    photos = tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"p{i}.jpg", (40 * i, 90, 200), seed=i)
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(photos), "--json"]) == 0
    return library, photos


def test_default_model_label_texts_and_queries_import_no_torch(default_lib: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    """`labels add` and `search` with the real default text side (MiniLM in numpy, the heads,
    the class matrix) in a fresh interpreter: vectors made, and no torch anywhere."""
    library, _ = default_lib
    assert probe(library, tmp_path, "labels", "add", "dog", "red car", "--json")["heavy"] == []
    assert probe(library, tmp_path, "search", "a dog on the beach", "-k", "2", "--json")["heavy"] == []
    assert probe(library, tmp_path, "labels", "list", "--json")["code"] == 0


def test_clip_label_texts_and_queries_import_no_torch_once_extracted(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With the CLIP text extract in the model cache, `labels add` and `search` run CLIP's text
    tower in numpy: no torch, no open_clip."""
    from open_clip.factory import _MODEL_CONFIGS

    from photomgr.core.library.database import Library
    from photomgr.core.library.settings import Settings
    from photomgr.core.models.base import ModelInfo
    from photomgr.core.models.text_numpy.clip_text import write_text_extract
    from photomgr.core.services.model_choice import ModelChoice
    from tests.core.models.conftest import TINY_CONFIG, TINY_MODEL, TINY_TAG

    monkeypatch.setitem(_MODEL_CONFIGS, TINY_MODEL, TINY_CONFIG)
    torch.manual_seed(0)
    from open_clip.model import _build_text_tower

    tower = _build_text_tower(TINY_CONFIG["embed_dim"], TINY_CONFIG["text_cfg"])  # type: ignore[arg-type]
    weights = tmp_path / "tiny-clip.safetensors"
    weights.write_bytes(b"the extract is keyed by this file")
    assert write_text_extract(TINY_MODEL, TINY_TAG, weights, state=tower.state_dict()) is not None

    class TinyImages(FakeEmbedder):
        info = ModelInfo(f"clip:{TINY_MODEL}:{TINY_TAG}", "clip", image_dim=32, label_dim=32,
                         shared_space=True)

        def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
            rng = np.random.default_rng(len(batch))
            vectors = l2_normalise(rng.standard_normal((len(batch), 32)).astype(np.float32))
            return EmbeddingBatch(vectors, vectors)

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", lambda *a, **k: TinyImages())
    photos = tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"p{i}.jpg", seed=i)
    library = tmp_path / "lib"
    assert main(["--library", str(library), "index", str(photos), "--json"]) == 0
    with Library(library) as lib:
        ModelChoice("clip", TINY_TAG, weights).write(Settings(lib.conn))
    assert probe(library, tmp_path, "labels", "add", "dog", "red car", "--json")["heavy"] == []
    assert probe(library, tmp_path, "search", "a dog on the beach", "-k", "2", "--json")["heavy"] == []
