"""The Chroma half of the store: vectors with ids and metadata, and cosine nearest-neighbour search.

The store never computes embeddings: every collection is opened with no embedding function and
every call passes vectors, so Chroma's default ONNX model is never loaded (or downloaded).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from interestlens.tools.errors import StoreError
from interestlens.tools.records import Progress

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

COLLECTIONS = ("events", "users", "items", "segments")
_QUERY_BATCH = 1000


def open_chroma(path: Path) -> ClientAPI:
    """Open (or create) the Chroma persistent client under ``path``, telemetry off."""
    import chromadb
    from chromadb.config import Settings
    from chromadb.errors import ChromaError

    try:
        return chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
    except ChromaError as err:  # e.g. InternalError "file is not a database"
        raise StoreError(f"{path}: cannot open the vector store: {err}") from err


class VectorsMixin:
    """Vector methods of ``Store``; needs ``path`` and ``_chroma()``."""

    path: Path
    _collections: dict[str, Collection]
    _chroma_lock: threading.RLock

    def _chroma(self) -> ClientAPI:
        raise NotImplementedError

    def _collection(self, name: str) -> Collection:
        if name not in COLLECTIONS:
            raise ValueError(f"unknown collection {name!r}; expected one of {COLLECTIONS}")
        with self._chroma_lock:
            if name not in self._collections:
                self._collections[name] = self._chroma().get_or_create_collection(
                    name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
                )
            return self._collections[name]

    def upsert_vectors(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[Mapping[str, object]] | None = None,
        documents: Sequence[str | None] | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Insert or replace vectors by id, in batches of the client's maximum size.

        Metadata values are kept when str, int, float or bool; None and NaN are dropped, numpy
        scalars become Python ones, dates become ISO strings and anything else its ``str``.

        Raises:
            ValueError: Lengths differ or ids repeat.
            StoreError: The collection holds vectors of another dimension.
        """
        from chromadb.errors import ChromaError

        ids = [str(i) for i in ids]
        vectors = np.asarray(vectors, dtype=np.float32)
        _check_rows(ids, vectors, metadatas, documents)
        target = self._collection(collection)
        step = self._chroma().get_max_batch_size()
        for start in range(0, len(ids), step):
            part = slice(start, start + step)
            try:
                target.upsert(
                    ids=ids[part],
                    embeddings=vectors[part],
                    metadatas=None if metadatas is None else _clean_metadatas(metadatas[part]),
                    documents=None if documents is None else [d or "" for d in documents[part]],
                )
            except ChromaError as err:  # e.g. a vector of another dimension
                raise StoreError(f"{self.path}: collection {collection!r}: {err}") from err
            if progress is not None:
                progress(f"vectors:{collection}", min(start + step, len(ids)), len(ids))

    def replace_vectors(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[Mapping[str, object]] | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Make ``collection`` hold exactly these vectors (a run's own text space).

        Vectors of another dimension (a store last built from other data or with another model)
        are dropped first instead of failing half-way; ids not given are deleted.
        """
        dim = np.asarray(vectors).shape[1] if np.ndim(vectors) == 2 else None
        with self._chroma_lock:
            held = self._collection(collection).get(limit=1, include=["embeddings"])
            if len(held["ids"]) and dim is not None and len(held["embeddings"][0]) != dim:
                self._chroma().delete_collection(collection)
                self._collections.pop(collection, None)
        self.upsert_vectors(collection, ids, vectors, metadatas, progress=progress)
        self.delete_missing(collection, ids)

    def delete_missing(self, collection: str, keep_ids: Iterable[str]) -> int:
        """Delete every vector whose id is not in ``keep_ids``; return how many went."""
        target = self._collection(collection)
        keep = {str(i) for i in keep_ids}
        gone = [i for i in target.get(include=[])["ids"] if i not in keep]
        step = self._chroma().get_max_batch_size()
        for start in range(0, len(gone), step):
            target.delete(ids=gone[start : start + step])
        return len(gone)

    def nearest(
        self,
        collection: str,
        vectors: np.ndarray,
        n: int,
        *,
        where: Mapping[str, object] | None = None,
    ) -> tuple[list[list[str]], np.ndarray]:
        """Find the ``n`` most cosine-similar stored vectors to each query vector.

        Args:
            collection: Collection name.
            vectors: Query vectors, shape ``(n_queries, dim)``.
            n: Neighbours wanted; more than the collection holds gives all of them.
            where: Chroma metadata filter, e.g. ``{"segment_id": "s3"}``.

        Returns:
            Per query the neighbour ids, most similar first, and an array of shape
            ``(n_queries, min(n, count))`` of cosine similarities (1 - cosine distance), NaN
            where a filtered query found fewer neighbours.
        """
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        target = self._collection(collection)
        k = max(0, min(n, target.count()))
        ids: list[list[str]] = []
        similarities = np.full((len(queries), k), np.nan, dtype=np.float32)
        if k == 0:
            return [[] for _ in queries], similarities
        for start in range(0, len(queries), _QUERY_BATCH):
            found = target.query(
                query_embeddings=queries[start : start + _QUERY_BATCH],
                n_results=k,
                where=dict(where) if where else None,
                include=["distances"],
            )
            pairs = zip(found["ids"], found["distances"], strict=True)
            for row, (row_ids, distances) in enumerate(pairs, start=start):
                ids.append(list(row_ids))
                similarities[row, : len(distances)] = 1.0 - np.asarray(distances)
        return ids, similarities

    def count(self, collection: str) -> int:
        """Return how many vectors ``collection`` holds."""
        return self._collection(collection).count()

    def get_vectors(self, collection: str, ids: Sequence[str]) -> np.ndarray:
        """Return the stored vectors of ``ids``, in that order.

        Raises:
            KeyError: Some ids are not in the collection.
        """
        ids = [str(i) for i in ids]
        target = self._collection(collection)
        step = self._chroma().get_max_batch_size()
        by_id: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), step):
            found = target.get(ids=ids[start : start + step], include=["embeddings"])
            by_id.update(zip(found["ids"], found["embeddings"], strict=True))
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise KeyError(f"{collection}: no vectors for {len(missing)} ids, e.g. {missing[:3]}")
        if not ids:
            return np.empty((0, 0), dtype=np.float32)
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)


def _check_rows(
    ids: list[str],
    vectors: np.ndarray,
    metadatas: Sequence[Mapping[str, object]] | None,
    documents: Sequence[str | None] | None,
) -> None:
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise ValueError(f"need one vector row per id, got {vectors.shape} for {len(ids)} ids")
    for what, values in (("metadatas", metadatas), ("documents", documents)):
        if values is not None and len(values) != len(ids):
            raise ValueError(f"{what} has {len(values)} entries for {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise ValueError("ids repeat within one upsert")


def _clean_metadatas(metadatas: Sequence[Mapping[str, object]]) -> list[dict | None]:
    """Make metadata Chroma accepts: scalar values only, and None for an empty mapping."""
    cleaned = []
    for metadata in metadatas:
        pairs = {str(k): _clean_value(v) for k, v in metadata.items()}
        cleaned.append({k: v for k, v in pairs.items() if v is not None} or None)
    return cleaned


def _clean_value(value: object) -> str | int | float | bool | None:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
