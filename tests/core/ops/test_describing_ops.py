"""Descriptions as operations and in the indexing pipeline, with the fake describing model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.base import EmbeddingBatch
from photomgr.core.ops.describing import DescriberUnavailable
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.core.pipeline.embedding import EmbeddingSink
from photomgr.core.services.indexing import index_folders
from photomgr.core.xmp.parse import parse_packet
from tests.conftest import make_photo
from tests.fakes import DescribingFakeEmbedder, FakeEmbedder

RED, BLUE = (220, 20, 20), (20, 20, 220)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    photos = tmp_path / "photos"
    make_photo(photos / "red.jpg", RED, seed=1)
    make_photo(photos / "blue.jpg", BLUE, seed=2)
    lib = Library(tmp_path / "lib")
    yield lib
    lib.close()


def _ids(library: Library) -> dict[str, int]:
    return {Path(p).name: i for i, p in library.conn.execute("SELECT id, path FROM photos")}


def test_set_and_clear_return_what_an_undo_restores(library: Library, tmp_path: Path) -> None:
    index_folders(library, [tmp_path / "photos"], embedder=DescribingFakeEmbedder())
    ops = LibraryOps(library)
    red = _ids(library)["red.jpg"]
    first = ops.descriptions.set_user(red, "my red bicycle")
    assert first.value is None and first.changes.descriptions == {red}
    assert first.changes.revision > 0 and not first.changes.tags
    assert ops.descriptions.set_user(red, "my old red bicycle").value == "my red bicycle"
    assert ops.descriptions.one(red) == descriptions.Description(red, "my old red bicycle", "user", None)
    assert ops.descriptions.clear_user(red).value == "my old red bicycle"
    shown = ops.descriptions.one(red)
    assert shown is not None and (shown.source, shown.text) == ("model", "a red square on a striped card")
    with pytest.raises(ValueError, match="no photo"):
        ops.descriptions.set_user(9999, "x")


def test_generate_describes_only_the_photos_without_one(library: Library, tmp_path: Path) -> None:
    index_folders(library, [tmp_path / "photos"], embedder=FakeEmbedder())  # a model without a captioner
    ops = LibraryOps(library)
    ids = _ids(library)
    assert ops.descriptions.of(list(ids.values())) == {}
    ops.descriptions.set_user(ids["blue.jpg"], "the sea")
    with pytest.raises(DescriberUnavailable, match="writes no descriptions"):
        ops.descriptions.generate(list(ids.values()), FakeEmbedder())
    done = ops.descriptions.generate(list(ids.values()), DescribingFakeEmbedder())
    assert set(done.value.described) == {ids["red.jpg"]} and done.changes.descriptions == {ids["red.jpg"]}
    assert ops.descriptions.one(ids["red.jpg"]).model_id == DescribingFakeEmbedder.CAPTIONER  # type: ignore[union-attr]
    assert ops.descriptions.one(ids["blue.jpg"]).text == "the sea"  # type: ignore[union-attr]
    assert ops.descriptions.generate(list(ids.values()), FakeEmbedder()).value.described == {}  # none missing


class _Broken(DescribingFakeEmbedder):
    """Writes one description too few: storing them fails after the vectors were written."""

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        out = super().embed_images(batch)
        assert out.descriptions is not None
        out.descriptions = out.descriptions[:-1]
        return out


def test_vectors_and_descriptions_commit_together(library: Library) -> None:
    conn = library.conn
    conn.execute("INSERT INTO photos (id, path, size, mtime_ns, added_at, updated_at)"
                 " VALUES (1, '/p/a.jpg', 1, 1, 'now', 'now'), (2, '/p/b.jpg', 1, 1, 'now', 'now')")
    vectors = VectorStore(conn)
    sink = EmbeddingSink(_Broken(), vectors, batch_size=2)
    image = torch.zeros(3, 16, 16)
    sink.add(1, image)
    with pytest.raises(ValueError):
        sink.add(2, image)
    assert vectors.count(_Broken.info.model_id) == 0  # rolled back with the descriptions
    sink = EmbeddingSink(DescribingFakeEmbedder(), vectors, batch_size=2)
    sink.add(1, image)
    sink.add(2, image)
    assert vectors.count(_Broken.info.model_id) == 2 and sink.stats.described == 2
    assert set(descriptions.shown(conn, [1, 2])) == {1, 2}
    assert np.isfinite(vectors.matrix(_Broken.info.model_id).image).all()


PACKET = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/">
 <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{}</rdf:li></rdf:Alt></dc:description>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def _sidecar_description(path: Path) -> str | None:
    return parse_packet(path.read_text()).description


def test_xmp_descriptions_are_the_users_and_sidecars_get_ours(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    red_xmp, blue_xmp = photos / "red.jpg.xmp", photos / "blue.jpg.xmp"
    red_xmp.write_text(PACKET.format("At the lake"))  # another tool's description
    index_folders(library, [photos], embedder=DescribingFakeEmbedder())
    ops = LibraryOps(library)
    ids = _ids(library)
    red, blue = ids["red.jpg"], ids["blue.jpg"]
    assert ops.descriptions.one(red) == descriptions.Description(red, "At the lake", "user", None)
    assert ops.descriptions.one(blue).source == "model"  # type: ignore[union-attr]

    # The user's own edit stands against the XMP it came from, and goes into the sidecar.
    ops.descriptions.set_user(red, "At the lake with Anna")
    assert ops.interop.import_keywords(force=True).value.descriptions == 0
    report = ops.interop.write_sidecars().value
    assert len(report.written) == 2
    assert _sidecar_description(red_xmp) == "At the lake with Anna"
    blue_text = ops.descriptions.one(blue).text  # type: ignore[union-attr]
    assert _sidecar_description(blue_xmp) == blue_text  # the model's, for other tools
    # Read back, photomgr's own sentences do not become the user's...
    assert ops.interop.import_keywords().value.descriptions == 0
    assert ops.descriptions.one(blue).source == "model"  # type: ignore[union-attr]
    # ...but another tool's later edit does.
    blue_xmp.write_text(PACKET.format("The kitchen table"))
    os.utime(blue_xmp, (5, 5))
    assert ops.interop.import_keywords().value.descriptions == 1
    assert ops.descriptions.one(blue) == descriptions.Description(blue, "The kitchen table", "user", None)
    # A description another tool wrote that photomgr has not read yet is not ours to replace.
    blue_xmp.write_text(PACKET.format("Written by darktable just now"))
    ops.descriptions.set_user(blue, "Breakfast")
    ops.interop.write_sidecars()
    assert _sidecar_description(blue_xmp) == "Written by darktable just now"


def test_the_models_sentence_in_a_sidecar_is_not_the_users_in_another_library(
        library: Library, tmp_path: Path) -> None:
    """Sidecars written with the model's sentence, read into a library that has no sentence of
    its model for the photo (descriptions off, another captioner, a new library): it was taken
    for the user's, counted as theirs and never replaced by a model. The sidecar now marks it
    (photomgr:modelDescription); the user's own and a later edit elsewhere stay the user's."""
    photos = tmp_path / "photos"
    index_folders(library, [photos], embedder=DescribingFakeEmbedder())
    ops = LibraryOps(library)
    ids = _ids(library)
    ops.descriptions.set_user(ids["red.jpg"], "Grandpa's tractor")
    ops.interop.write_sidecars()
    blue_xmp = photos / "blue.jpg.xmp"
    marks = [parse_packet(p.read_text()) for p in (blue_xmp, photos / "red.jpg.xmp")]

    with Library(tmp_path / "second") as second:
        other = LibraryOps(second)
        index_folders(second, [photos], embedder=FakeEmbedder())  # a model without a captioner
        there = _ids(second)
        assert other.descriptions.one(there["blue.jpg"]) is None  # not "yours"
        assert other.descriptions.one(there["red.jpg"]) == descriptions.Description(
            there["red.jpg"], "Grandpa's tractor", "user", None)
        text = blue_xmp.read_text().replace(">" + str(_sidecar_description(blue_xmp)) + "<", ">By hand<", 1)
        blue_xmp.write_text(text)  # dc:description edited in another tool; the mark is left
        os.utime(blue_xmp, (5, 5))
        index_folders(second, [photos], embedder=FakeEmbedder())
        assert other.descriptions.one(there["blue.jpg"]) == descriptions.Description(
            there["blue.jpg"], "By hand", "user", None)
    assert marks[0].model_description == marks[0].description and marks[1].model_description is None
