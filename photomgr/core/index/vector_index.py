"""The on-disk FAISS inner-product index over photo ids.

Derived data: the database is the source of truth, so `load()` answers None (the caller rebuilds)
whenever the file is missing, unreadable, half-written, or was built for another model or
another set of vectors. Vectors are (re)normalised on the way in, so scores are cosines even
after the float16 round trip through SQLite.

Index kind is picked by size (N x D floats scanned per query), not by photo count alone: a
single exact query streams the whole matrix from memory, so the 1280-d default backend reaches
the latency budget at fewer photos than 512-d CLIP. See bench/bench_similar.py.

The index may also hold each photo's *instance vector* (when the backend makes them): a small
matrix kept in memory next to the FAISS index, saved as `<index>.instance.npz`, that Find
similar uses to re-rank the FAISS candidates (see photomgr/core/search/similar.py). The rows are
stored centred on the library's own mean instance vector (computed at build) and renormalised:
every photo shares the mean's component, so removing it spreads cosines over what differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import faiss
import numpy as np

from photomgr.core.index.ivf import build_ivf, tune_nprobe

FORMAT_VERSION = 1
EXACT = "exact"  # IndexIDMap2(IndexFlatIP)
IVF = "ivf"  # IndexIVFFlat, inner product, nprobe tuned at build
# Exact search streams every stored float per query: 100k x 512 (CLIP) took 10.4 ms on a busy
# 2-core machine, just over the 10 ms target, while a tuned IVF answered in 0.15 ms at recall@10
# 0.999 (bench/bench_similar.py). So exact search stops at half that: 50k x 512 or 20k x 1280.
EXACT_MAX_FLOATS = 50_000 * 512
# Centre instance vectors on the library's mean: measured on Caltech dev (see similar.py)
CENTRE_INSTANCE = True
IVF_GROWTH_LIMIT = 4.0  # an IVF trained on n vectors is rebuilt once it holds 4n (centroids go stale)


def default_exact_limit(dim: int) -> int:
    """Largest photo count searched exactly for vectors of this dimension."""
    return max(1, EXACT_MAX_FLOATS // max(1, dim))


def fingerprint(ids: np.ndarray, model_id: str) -> str:
    """Cheap identity of a vector set: the model, the count and a hash of the sorted ids."""
    sorted_ids = np.sort(np.asarray(ids, dtype=np.int64))
    digest = hashlib.blake2b(sorted_ids.tobytes(), digest_size=16).hexdigest()
    return f"{model_id}|{len(sorted_ids)}|{digest}"


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Contiguous float32 rows of unit length (zero rows stay zero). The input is never
    modified, and not copied when it already is such a matrix (a 1M x 1280 copy is 5 GB)."""
    v = np.asarray(vectors, dtype=np.float32)
    v = np.ascontiguousarray(v if v.ndim == 2 else v.reshape(-1, v.shape[-1]))
    if v.size == 0:
        return v
    norms = np.sqrt(np.einsum("ij,ij->i", v, v))[:, None]
    if np.all(np.abs(norms - 1.0) < 1e-3):
        return v
    out = v.copy()
    np.divide(out, norms, out=out, where=norms > 0)
    return out


@contextlib.contextmanager
def _one_omp_thread() -> Iterator[None]:
    """Run a single query on one OpenMP thread, restoring the caller's setting after.

    One query is a single pass over memory; splitting it across threads only adds a barrier,
    and when other work keeps the cores busy (the indexing worker, the model) that barrier
    stalls: measured 100k x 512 exact, 2 threads 34-40 ms vs 1 thread 9-10 ms on a loaded
    2-core machine. OpenMP's thread count is per calling thread, so other threads (an index
    build) keep theirs.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def instance_path(path: Path) -> Path:
    return path.with_name(path.name + ".instance.npz")


class InstanceMatrix:
    """Instance vectors by photo id: rows sorted by id (lookup by binary search), centred on
    `mean` and renormalised. Holds float32: the float16 of SQLite plus centring is already
    as coarse as a re-ranking margin should be."""

    def __init__(self, ids: np.ndarray, rows: np.ndarray, mean: np.ndarray) -> None:
        self.ids = ids
        self.rows = rows
        self.mean = mean

    @classmethod
    def from_vectors(cls, ids: np.ndarray, vectors: np.ndarray, centre: bool = True) -> InstanceMatrix:
        """Rows for these ids, centred on their own mean when `centre`."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vecs = normalized(vectors)
        if vecs.ndim != 2 or len(vecs) != len(ids):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} instance vectors")
        mean = vecs.mean(axis=0) if centre and len(vecs) else np.zeros(vecs.shape[1], np.float32)
        order = np.argsort(ids, kind="stable")
        made = cls(np.ascontiguousarray(ids[order]), vecs[order], mean.astype(np.float32))
        made.rows = made._centred(made.rows)
        return made

    def _centred(self, vectors: np.ndarray) -> np.ndarray:
        return normalized(normalized(vectors) - self.mean[None, :])

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows (n, D), found (n,) bool) for these ids; rows of unknown ids are zero."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(self.ids) == 0:
            return np.zeros((len(ids), self.dim), np.float32), np.zeros(len(ids), bool)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        found = self.ids[pos] == ids
        out = self.rows[pos]
        out[~found] = 0.0
        return out, found

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace rows, centred with the mean of the build (new photos do not move it)."""
        self.remove(ids)
        all_ids = np.concatenate([self.ids, ids])
        all_rows = np.concatenate([self.rows, self._centred(vectors)])
        order = np.argsort(all_ids, kind="stable")
        self.ids, self.rows = np.ascontiguousarray(all_ids[order]), np.ascontiguousarray(all_rows[order])

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self.ids, ids)
        self.ids, self.rows = self.ids[keep], self.rows[keep]


class VectorIndex:
    """A FAISS inner-product index whose labels are photo ids."""

    def __init__(self, index: faiss.Index, kind: str, model_id: str, fingerprint: str, dim: int,
                 nprobe: int = 0, trained_count: int = 0, exact_limit: int | None = None,
                 tuned_recall: float | None = None, instance: InstanceMatrix | None = None) -> None:
        self.index = index
        self.kind = kind
        self.model_id = model_id
        self.fingerprint = fingerprint
        self.dim = dim
        self.nprobe = nprobe
        self.trained_count = trained_count
        self.exact_limit = default_exact_limit(dim) if exact_limit is None else exact_limit
        self.tuned_recall = tuned_recall
        self.dirty = False  # set when incremental updates left a kind that no longer fits the size
        self.instance = instance  # None: no re-ranking (backend without instance vectors)
        self.instance_stale = False  # set when an update could not keep `instance` complete
        if kind == IVF:
            faiss.extract_index_ivf(index).nprobe = nprobe

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, model_id: str, fingerprint: str,
              exact_limit: int | None = None, instance: np.ndarray | None = None) -> VectorIndex:
        """Exact for libraries up to `exact_limit` photos (default: by dimension), IVF above.

        `instance`: optional (N, D_inst) instance vectors aligned with `ids`, kept for re-ranking.
        """
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vecs = normalized(vectors)
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} ids for {len(vecs)} vectors")
        inst = None if instance is None else InstanceMatrix.from_vectors(ids, instance, CENTRE_INSTANCE)
        built = cls._build_faiss(ids, vecs, model_id, fingerprint, exact_limit)
        built.instance = inst
        return built

    @classmethod
    def _build_faiss(cls, ids: np.ndarray, vecs: np.ndarray, model_id: str, fingerprint: str,
                     exact_limit: int | None) -> VectorIndex:
        dim = int(vecs.shape[1])
        limit = default_exact_limit(dim) if exact_limit is None else exact_limit
        if len(ids) <= limit:
            flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            if len(ids):
                flat.add_with_ids(vecs, ids)
            return cls(flat, EXACT, model_id, fingerprint, dim, trained_count=len(ids), exact_limit=limit)
        ivf = build_ivf(vecs, ids)
        nprobe, recall = tune_nprobe(ivf, vecs, ids)
        return cls(ivf, IVF, model_id, fingerprint, dim, nprobe=nprobe, trained_count=len(ids),
                   exact_limit=limit, tuned_recall=recall)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    # -- queries ---------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, exclude: set[int] | None = None) -> list[tuple[int, float]]:
        """The k best (photo id, cosine) for one query vector, best first, `exclude` left out."""
        exclude = exclude or set()
        total = len(self)
        if k <= 0 or total == 0:
            return []
        q = normalized(np.asarray(query, dtype=np.float32).reshape(1, -1))
        fetch = min(total, k + len(exclude))
        while True:
            with _one_omp_thread():
                scores, found = self.index.search(q, fetch)
            hits = [(int(i), float(s)) for i, s in zip(found[0], scores[0], strict=True)
                    if i >= 0 and int(i) not in exclude]
            # an approximate index can return fewer than asked; widening only helps exact gaps
            if len(hits) >= k or fetch >= total or int((found[0] >= 0).sum()) < fetch:
                return hits[:k]
            fetch = min(total, fetch * 2)

    def search_many(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Batched k-NN: (scores, ids), each (nq, k); missing hits have id -1."""
        q = normalized(queries)
        if len(self) == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        scores, found = self.index.search(q, min(k, len(self)))
        return scores, found

    def range_search(self, queries: np.ndarray,
                     min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stored vector with cosine >= min_score to each query, as faiss (lims, scores, ids)."""
        q = normalized(queries)
        if len(self) == 0:
            return np.zeros(len(q) + 1, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64)
        # faiss keeps inner products strictly above the radius; step down a hair, then filter
        lims, scores, found = self.index.range_search(q, float(min_score) - 1e-6)
        return lims.astype(np.int64), scores, found.astype(np.int64)

    # -- incremental updates -------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray, fingerprint: str | None = None,
            instance: np.ndarray | None = None) -> None:
        """Add (or replace) vectors in place. Pass the vector set's new fingerprint if known;
        without it the saved file will not match the database and is rebuilt on the next load.

        When the index re-ranks with instance vectors, pass theirs too: without them the
        instance matrix is dropped (plain semantic ranking) and `needs_rebuild` turns True."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vecs = normalized(vectors)
        if vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected ({len(ids)}, {self.dim}) vectors, got {vecs.shape}")
        if self.instance is not None:
            inst = None if instance is None else normalized(instance)
            if inst is None or inst.shape != (len(ids), self.instance.dim):
                self.instance, self.instance_stale = None, True
            else:
                self.instance.upsert(ids, inst)
        self.index.remove_ids(faiss.IDSelectorBatch(ids))  # re-adding an id replaces it
        self.index.add_with_ids(vecs, ids)
        self._after_update(fingerprint)

    def remove(self, ids: Iterable[int], fingerprint: str | None = None) -> None:
        arr = np.ascontiguousarray(np.fromiter(ids, dtype=np.int64))
        if len(arr):
            self.index.remove_ids(faiss.IDSelectorBatch(arr))
            if self.instance is not None:
                self.instance.remove(arr)
        self._after_update(fingerprint)

    def _after_update(self, fingerprint: str | None) -> None:
        self.fingerprint = fingerprint if fingerprint is not None else ""
        n = len(self)
        if self.kind == EXACT:
            self.dirty = n > self.exact_limit
        else:
            self.dirty = n > IVF_GROWTH_LIMIT * self.trained_count or n <= self.exact_limit // 2

    @property
    def needs_rebuild(self) -> bool:
        """True when updates made the index the wrong kind or shape for its size, or dropped
        the instance vectors it re-ranks with."""
        return self.dirty or self.instance_stale

    def instance_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(centred instance rows, found mask) of these photo ids; None without instance vectors."""
        return None if self.instance is None else self.instance.lookup(ids)

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Atomic: write both files under temporary names, then os.replace the index, then the
        sidecar. The sidecar records the index file's size and mtime, so a crash between the two
        renames leaves a pair that `load` rejects instead of a silently mismatched one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_index = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp_meta = sidecar_path(tmp_index)
        tmp_inst = instance_path(tmp_index)
        try:
            faiss.write_index(self.index, str(tmp_index))
            st = tmp_index.stat()
            meta = {"format": FORMAT_VERSION, "model_id": self.model_id, "fingerprint": self.fingerprint,
                    "count": len(self), "kind": self.kind, "dim": self.dim, "nprobe": self.nprobe,
                    "trained_count": self.trained_count, "exact_limit": self.exact_limit,
                    "tuned_recall": self.tuned_recall, "file_size": st.st_size,
                    "file_mtime_ns": st.st_mtime_ns, "instance": None}
            if self.instance is not None:
                with tmp_inst.open("wb") as fh:
                    np.savez(fh, ids=self.instance.ids, rows=self.instance.rows, mean=self.instance.mean)
                ist = tmp_inst.stat()
                meta["instance"] = {"count": len(self.instance), "dim": self.instance.dim,
                                    "file_size": ist.st_size, "file_mtime_ns": ist.st_mtime_ns}
            tmp_meta.write_text(json.dumps(meta, indent=1), encoding="utf-8")
            os.replace(tmp_index, path)
            if self.instance is not None:
                os.replace(tmp_inst, instance_path(path))
            os.replace(tmp_meta, sidecar_path(path))
        finally:
            for tmp in (tmp_index, tmp_inst, tmp_meta):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    @classmethod
    def load(cls, path: Path, model_id: str, fingerprint: str) -> VectorIndex | None:
        """The saved index, or None when it is missing, unreadable or stale (rebuild then)."""
        path = Path(path)
        try:
            meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
            st = path.stat()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            return None
        if meta.get("model_id") != model_id or meta.get("fingerprint") != fingerprint:
            return None
        if meta.get("file_size") != st.st_size or meta.get("file_mtime_ns") != st.st_mtime_ns:
            return None
        if meta.get("kind") not in (EXACT, IVF):
            return None
        try:
            index = faiss.read_index(str(path))
        except (RuntimeError, MemoryError, OSError):
            return None
        if index.ntotal != meta.get("count") or index.d != meta.get("dim"):
            return None
        instance: InstanceMatrix | None = None
        if meta.get("instance") is not None:
            instance = _load_instance(instance_path(path), meta["instance"], int(index.ntotal))
            if instance is None:
                return None
        try:
            return cls(index, str(meta["kind"]), model_id, fingerprint, int(meta["dim"]),
                       nprobe=int(meta.get("nprobe") or 0), trained_count=int(meta.get("trained_count") or 0),
                       exact_limit=int(meta["exact_limit"]) if meta.get("exact_limit") else None,
                       tuned_recall=meta.get("tuned_recall"), instance=instance)
        except (KeyError, TypeError, ValueError, RuntimeError):
            return None


def _load_instance(path: Path, meta: object, count: int) -> InstanceMatrix | None:
    """The saved instance matrix, or None when missing, corrupt or not the one `meta` describes."""
    if not isinstance(meta, dict):
        return None
    try:
        st = path.stat()
        if meta.get("file_size") != st.st_size or meta.get("file_mtime_ns") != st.st_mtime_ns:
            return None
        with np.load(path, allow_pickle=False) as data:
            ids = np.ascontiguousarray(data["ids"], dtype=np.int64)
            rows = np.ascontiguousarray(data["rows"], dtype=np.float32)
            mean = np.ascontiguousarray(data["mean"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    dim = meta.get("dim")
    if rows.ndim != 2 or ids.shape != (count,) or rows.shape != (count, dim) or mean.shape != (dim,):
        return None
    return InstanceMatrix(ids, rows, mean)
