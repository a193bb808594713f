"""The default model's trained heads, the shipped WordNet table and the fused scoring (no data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from photomgr.core.models.base import ModelUnavailable
from photomgr.core.models.default_ids import ADOPTS, HEADS_VERSION, MODEL_ID, N_CLASSES
from photomgr.core.models.heads import gelu, load_heads, read_heads
from photomgr.core.models.hierarchy import Hierarchy, Node, load_hierarchy, singular_forms
from photomgr.core.models.spaces import adoptable_ids, photo_label_space
from photomgr.core.models.text_bridge import imagenet_classes
from photomgr.core.tagging.calibration import FUSED_EPS, calibration_for
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

DOG_CLASSES = set(range(151, 269))  # ImageNet-1k's dog breeds


def _write_heads(path: Path, rng: np.random.Generator, mlp: bool) -> dict[str, np.ndarray]:
    t = {"image.weight": rng.standard_normal((6, 4)).astype(np.float32),
         "image.bias": rng.standard_normal(4).astype(np.float32),
         "text.weight": rng.standard_normal((5, 4)).astype(np.float32),
         "text.bias": rng.standard_normal(4).astype(np.float32)}
    if mlp:
        t.update({"image.mlp1.weight": rng.standard_normal((6, 3)).astype(np.float32),
                  "image.mlp1.bias": rng.standard_normal(3).astype(np.float32),
                  "image.mlp2.weight": rng.standard_normal((3, 4)).astype(np.float32),
                  "image.mlp2.bias": rng.standard_normal(4).astype(np.float32)})
    fusion = {"eps": FUSED_EPS, "hier": [1.0, 2.0, 3.0], "bridge": [0.5, 10.0, -4.0]}
    save_file(t, str(path), metadata={"version": "test", "fusion": json.dumps(fusion)})
    return t


@pytest.mark.parametrize("mlp", [False, True])
def test_heads_file_projects_like_the_formula(tmp_path: Path, mlp: bool) -> None:
    rng = np.random.default_rng(0)
    t = _write_heads(tmp_path / "h.safetensors", rng, mlp)
    heads = read_heads(tmp_path / "h.safetensors")
    assert heads.version == "test" and heads.dim == 4
    # an h1 file's constants (no descriptor terms, no reference) read as constants
    assert heads.fusion.hier.at(2.0) == (1.0, 2.0, 3.0) and heads.fusion.bridge.at(0.7) == (0.5, 10.0, -4.0)
    assert heads.fusion.reference is None
    x = rng.standard_normal((3, 6)).astype(np.float32)
    y = x @ t["image.weight"] + t["image.bias"]
    if mlp:
        hidden = gelu(x @ t["image.mlp1.weight"] + t["image.mlp1.bias"])
        y += hidden @ t["image.mlp2.weight"] + t["image.mlp2.bias"]
    want = y / np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(heads.image(x), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(heads.image(x, block=2), want, rtol=1e-5, atol=1e-6)  # blocks agree


def test_gelu_matches_torch_tanh_approximation() -> None:
    import torch

    x = np.linspace(-5, 5, 101, dtype=np.float32)
    want = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    np.testing.assert_allclose(gelu(x), want, atol=1e-6)


def test_missing_or_damaged_heads_say_so(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="missing"):
        read_heads(tmp_path / "none.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ModelUnavailable):
        read_heads(tmp_path / "bad.safetensors")


def test_shipped_heads_load_and_carry_the_model_ids_version() -> None:
    heads = load_heads()
    assert heads.version == HEADS_VERSION and MODEL_ID.endswith("+" + HEADS_VERSION)
    assert heads.image.in_dim == 1280 and heads.text.in_dim == 384 and heads.dim >= 64
    assert set(heads.meta) >= {"fusion", "version", "seed"}
    x = np.random.default_rng(1).standard_normal((2, 1280)).astype(np.float32)
    np.testing.assert_allclose(np.linalg.norm(heads.image(x), axis=1), 1.0, rtol=1e-5)
    for coverage in (1, 10, 118):
        a_hier, b_hier, _ = heads.fusion.hier.at(float(np.log(coverage)))
        assert a_hier > 0 and b_hier > 0  # both routes count for category words
    ref = heads.fusion.reference
    assert ref is not None and ref.probs.shape[1] == N_CLASSES
    assert ref.image.shape == (len(ref.probs), heads.dim)


def test_label_constants_follow_the_descriptor_and_centre_on_the_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    t = _write_heads(tmp_path / "h.safetensors", rng, mlp=False)
    probs = rng.dirichlet(np.ones(N_CLASSES), 6).astype(np.float32)
    image = rng.standard_normal((6, 4)).astype(np.float32)
    fusion = {"eps": FUSED_EPS, "hier": {"a": [1.0, 0.5], "b": [4.0, 0.0], "c": [-3.0, 0.0]},
              "bridge": {"a": [-1.0, 2.0], "b": [2.0, 10.0], "c": [1.0, -8.0]},
              "query": {"a": [0.0, 0.0], "b": [7.0, 0.0], "c": [-2.0, 0.0]}}
    save_file({**t, "reference.probs": probs, "reference.image": image}, str(tmp_path / "h2.safetensors"),
              metadata={"version": "test2", "fusion": json.dumps(fusion)})
    f = read_heads(tmp_path / "h2.safetensors").fusion
    w = np.zeros(N_CLASSES, np.float32)
    w[:3] = 1.0
    learned = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    a, b, c = f.label_constants("hier", float(np.log(3)), w, learned)
    want_a = 1.0 + 0.5 * np.log(3)
    m1, m2 = np.mean(np.log(probs @ w + FUSED_EPS)), np.mean(image @ learned)
    np.testing.assert_allclose([a, b, c], [want_a, 4.0, -3.0 - want_a * m1 - 4.0 * m2], rtol=1e-5)
    # a text far from every class name (a sentence) gets no ImageNet weight at all: a >= 0
    a, b, c = f.label_constants("bridge", 0.3, w, learned)
    assert a == 0.0 and b == pytest.approx(5.0) and c == pytest.approx(1.0 - 2.4 - 5.0 * m2, rel=1e-5)
    # a search query off the hierarchy gets the query constants; on it, the hier ones
    got = f.label_constants("bridge", 0.3, w, learned, query=True)
    assert got == pytest.approx((0.0, 7.0, -2.0 - 7.0 * m2))
    hier = f.label_constants("hier", 1.0, w, learned)
    assert f.label_constants("hier", 1.0, w, learned, query=True) == hier
    save_file({**t, "reference.probs": probs, "reference.image": image[:, :3]},
              str(tmp_path / "bad.safetensors"), metadata={"version": "x", "fusion": json.dumps(fusion)})
    with pytest.raises(ModelUnavailable, match="do not fit"):
        read_heads(tmp_path / "bad.safetensors")


def test_photo_label_space_comes_from_the_stored_columns() -> None:
    rng = np.random.default_rng(2)
    image = rng.standard_normal((3, 1280)).astype(np.float32)
    probs = rng.random((3, N_CLASSES)).astype(np.float32)
    space = photo_label_space(MODEL_ID, image, probs)
    heads = load_heads()
    assert space is not None and space.shape == (3, N_CLASSES + heads.dim + 2)
    np.testing.assert_array_equal(space[:, :N_CLASSES], probs)
    np.testing.assert_allclose(space[:, N_CLASSES:-2], heads.image(image), rtol=1e-6)
    assert (space[:, -2] == 1).all() and (space[:, -1] == 0).all()
    assert photo_label_space("clip:ViT-B-32:x", image, None) is None
    assert adoptable_ids(MODEL_ID) == ADOPTS and adoptable_ids("clip:ViT-B-32:x") == ()


def test_fused_score_is_both_routes_with_the_labels_constants() -> None:
    rng = np.random.default_rng(3)
    k, d, n = 10, 4, 7
    cal = calibration_for("default").with_(fused_classes=k)
    probs = rng.dirichlet(np.ones(k), n).astype(np.float32)
    learned = rng.standard_normal((n, d)).astype(np.float32)
    learned /= np.linalg.norm(learned, axis=1, keepdims=True)
    space = np.concatenate([probs, learned, np.ones((n, 1)), np.zeros((n, 1))], axis=1).astype(np.float32)
    photos = PhotoMatrix(np.arange(n), rng.standard_normal((n, 5)).astype(np.float32), space)
    labels, want = [], []
    for j, (a, b, c) in enumerate([(1.0, 5.0, -2.0), (0.3, 12.0, -6.0), (0.0, 8.0, 1.0)]):
        w = np.zeros(k, np.float32)
        w[[j, j + 3]] = 1.0
        t = rng.standard_normal(d).astype(np.float32)
        t /= np.linalg.norm(t)
        labels.append(LabelVectors(np.concatenate([w, b * t, [c, a]]).astype(np.float32)))
        want.append(a * np.log(probs @ w + FUSED_EPS) + b * (learned @ t) + c)
    scorer = LabelScorer("default", cal)
    got = scorer.logits(photos, labels)
    np.testing.assert_allclose(got, np.stack(want, axis=1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(scorer.logits(photos, labels[1:2])[:, 0], got[:, 1], rtol=1e-5)  # one label
    with pytest.raises(ValueError):  # a probability-only space is not the fused layout
        LabelScorer("default", cal).logits(PhotoMatrix(np.arange(n), photos.image, probs[:, :k]),
                                           [LabelVectors(np.ones(k, np.float32))])


def test_hierarchy_table_covers_categories() -> None:
    classes = imagenet_classes()
    h = load_hierarchy([c.synset for c in classes])
    dog = set(h.lookup("dog").tolist())  # type: ignore[union-attr]
    assert dog == DOG_CLASSES  # all 118 breeds, not the 5 nearest class names
    assert set(h.lookup("dogs").tolist()) == dog  # type: ignore[union-attr]
    vehicle = set(h.lookup("vehicle").tolist())  # type: ignore[union-attr]
    car = set(h.lookup("car").tolist())  # type: ignore[union-attr]
    assert car and car < vehicle and len(vehicle) > 40
    names = {classes[i].names[0] for i in car}
    assert {"sports car", "convertible", "cab"} <= names
    assert len(h.lookup("building")) >= 10 and len(h.lookup("food")) >= 10  # type: ignore[arg-type]
    assert {classes[i].names[0] for i in h.lookup("flower")} >= {"daisy"}  # type: ignore[union-attr]
    (dalmatian,) = h.lookup("dalmatian")  # type: ignore[misc]
    assert classes[dalmatian].names[0] == "dalmatian"  # a class name covers exactly its class
    assert h.lookup("face") is None and h.lookup("sunset") is None  # no ImageNet synset
    assert h.lookup("a red car on a street") is None


def test_hierarchy_resolves_the_commonest_sense() -> None:
    nodes = [Node("n1", (), (("entity", 1),)),
             Node("n2", ("n1",), (("car", 1), ("auto", 1))),
             Node("n3", ("n1",), (("car", 2), ("railcar", 1))),
             Node("n4", ("n2",), (("cab", 1),)), Node("n5", ("n3",), (("boxcar", 1),)),
             Node("n6", ("n1",), (("face", 3), ("dial", 1)))]
    h = Hierarchy(nodes, ["n4", "n5", "n6"])
    assert h.lookup("cars").tolist() == [0]  # type: ignore[union-attr]
    assert h.lookup("railcar").tolist() == [1]  # type: ignore[union-attr]
    assert h.lookup("entity").tolist() == [0, 1, 2]  # type: ignore[union-attr]
    assert h.lookup("face") is None  # only a rare sense: not a match
    assert "child" in singular_forms("children") and "city" in singular_forms("cities")
    with pytest.raises(ValueError):
        Hierarchy(nodes, ["n4", "n99"])


def test_a_library_still_on_h1_scores_in_the_fused_layout() -> None:
    # An upgraded photomgr opening a library last indexed with h1 heads: its stored h1 label
    # vectors have the fused layout, so the photos' space must too (was: a traceback from
    # `labels list`, "label text has dim 1514, photos' label space 1000").
    from photomgr.core.models.default_ids import MODEL_ID, N_CLASSES, STORED_ID
    from photomgr.core.models.spaces import photo_label_space

    rng = np.random.default_rng(0)
    image = rng.standard_normal((3, 1280)).astype(np.float32)
    probs = rng.dirichlet(np.ones(N_CLASSES), 3).astype(np.float32)
    current = photo_label_space(MODEL_ID, image, probs)
    on_h1 = photo_label_space(f"{STORED_ID}+h1", image, probs)
    assert current is not None and on_h1 is not None
    np.testing.assert_array_equal(on_h1, current)
    assert photo_label_space(STORED_ID, image, probs) is probs  # pre-heads vectors: the bridge space


def test_a_label_name_goes_through_the_heads_templates_and_a_query_as_typed(tmp_path: Path) -> None:
    # h3: the heads were trained on whole captions, so a label's name is embedded as "a photo of
    # a {}." (the templates ship in the heads file); a search query is embedded as typed, as its
    # fusion constants were fitted. Heads without templates (h1, h2) embed the name alone.
    from photomgr.core.models.default_text import DefaultTextEncoder, label_templates

    _write_heads(tmp_path / "old.safetensors", np.random.default_rng(5), mlp=False)
    assert label_templates(read_heads(tmp_path / "old.safetensors")) == ()
    heads = load_heads()
    templates = label_templates(heads)
    assert templates and all("{}" in t for t in templates)
    enc = DefaultTextEncoder(heads=heads)

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    filled = enc.bridge.encode([t.replace("{}", "sunset") for t in templates]).mean(axis=0)
    want = heads.text(unit(filled)[None])[0]
    np.testing.assert_allclose(enc.learned(["sunset"]), want, rtol=1e-4, atol=1e-5)
    sentence = "two people walking in the snow at night"  # a sentence: embedded as written
    np.testing.assert_allclose(enc.learned([sentence]), heads.text(enc.bridge.encode([sentence]))[0],
                               rtol=1e-4, atol=1e-5)
    d = heads.dim
    label_part = enc.embed_label(["sunset"])[N_CLASSES:N_CLASSES + d]
    query_part = enc.embed_query("sunset")[N_CLASSES:N_CLASSES + d]
    as_typed = heads.text(enc.bridge.encode(["sunset"]))[0]
    assert abs(float(unit(label_part) @ want)) == pytest.approx(1.0, abs=1e-4)
    assert abs(float(unit(query_part) @ as_typed)) == pytest.approx(1.0, abs=1e-4)
    assert abs(float(want @ as_typed)) < 0.999  # the two really differ


def test_libraries_on_older_heads_adopt_and_score_in_the_fused_layout() -> None:
    from photomgr.core.models.default_ids import FUSED_LAYOUT_IDS, STORED_ID

    for old in ("h1", "h2"):
        assert f"{STORED_ID}+{old}" in ADOPTS and f"{STORED_ID}+{old}" in FUSED_LAYOUT_IDS
    assert MODEL_ID not in ADOPTS and MODEL_ID in FUSED_LAYOUT_IDS
