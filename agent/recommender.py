"""Recommendation orchestration: the hybrid recommender when events name items, else content.

With item ids (products, movies, questions) the tuned ``HybridRecommender`` ranks the items;
without them (e.g. plain reviews, where each event is its own item) the store's nearest items to
the user's profile vector are ranked; in document mode (one event per "user") a recommended row
is shown under its own row id. Either way ``tools.recommend`` writes the reasons. The
catalogue (items of a catalogue file merged with those the events name) is saved in the store's
``items`` table, so later sessions filter by the same categories and dates.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import normalize

from interestlens.agent.encoder import FusedEncoder
from interestlens.tools.catalogue import ItemFilter
from interestlens.tools.collab import HybridRecommender
from interestlens.tools.collab_tune import tune_hybrid
from interestlens.tools.errors import ConfigError, StoreError
from interestlens.tools.evidence import SEGMENT
from interestlens.tools.interactions import (
    build_item_catalogue,
    interactions_from_events,
    seen_items,
)
from interestlens.tools.rank import top_k
from interestlens.tools.recommend import EVIDENCE_SEPARATOR, rank_recommendations
from interestlens.tools.records import (
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    SENTIMENT,
    TIMESTAMP,
    USER,
    Progress,
    Recommendation,
)
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact, save_artifact

logger = logging.getLogger(__name__)

ITEM_TEXT_COLUMN = "item_text"
PARAMS_ARTIFACT = "recommender_params"
ITEM_VECTORS_ARTIFACT = "item_vectors"  # the catalogue's vectors, faster to load than from Chroma
ITEMS_TABLE = "items"
# What the recommender reads of the events when the catalogue is saved (texts are not needed)
EVENT_COLUMNS_READ = (EVENT_ID, USER, TIMESTAMP, EVENT_TYPE, ITEM_ID, SENTIMENT, SEGMENT)
FILTER_BATCH = 256  # owners scored together against the filtered items in content mode


class StoreRecommender:
    """Recommend unseen items to users and segments from one store.

    Args:
        store: The open store holding the ``users`` and item (or event) vectors.
        events: Kept events (user, item id/text, text, timestamp, event type, sentiment and, for
            segment-level picks, segment columns).
        interests: Each user's (or segment's) top interests, cited in the reasons.
        catalogue: The items (``tools.interactions.CATALOGUE_COLUMNS``), e.g. from
            ``tools.catalogue.merge_catalogue``; None builds it from ``events``.
        tune: Tune the hybrid's weights on these events and save them in the store (the pipeline
            does); otherwise reuse the weights a run saved (the defaults when none was saved).
        random_state: Seed of the tuner's user sampling.
    """

    def __init__(self, store: Store, events: pd.DataFrame,
                 interests: Mapping[str, Sequence[str]], *,
                 catalogue: pd.DataFrame | None = None, tune: bool = False,
                 random_state: int = 0):
        self.store = store
        self.interests = interests
        self.tune = tune
        self.random_state = random_state
        self.catalogue = catalogue if catalogue is not None else build_item_catalogue(events)
        self.item_labels = _document_labels(events, self.catalogue)
        self.seen = {user: set(self._labelled(items))
                     for user, items in seen_items(events, self.catalogue).items()}
        self.item_texts = dict(zip(self._labelled(self.catalogue[ITEM_ID].tolist()),
                                   self.catalogue[ITEM_TEXT_COLUMN].tolist()))
        self.collection = "events" if self.catalogue["is_event_item"].all() else "items"
        self.interactions = interactions_from_events(events)
        labelled = (events.dropna(subset=[SEGMENT]).drop_duplicates(USER, keep="last")
                    if SEGMENT in events else None)
        self.user_segments = ({} if labelled is None else
                              dict(zip(labelled[USER].astype(str).tolist(),
                                       labelled[SEGMENT].astype(str).tolist())))
        self._item_vectors: np.ndarray | None = None
        self._hybrid: HybridRecommender | None = None

    @classmethod
    def from_store(cls, store: Store, interests: Mapping[str, Sequence[str]], *,
                   tune: bool = False, random_state: int = 0) -> StoreRecommender:
        """Return the recommender of the store's last run (its events and saved catalogue)."""
        try:
            catalogue = store.read_table(ITEMS_TABLE)
        except StoreError:  # a store written before catalogues were saved
            catalogue = None
        if catalogue is not None and catalogue["is_event_item"].all():
            catalogue = None  # events are the items: rebuilt, so events added by updates count
        if catalogue is not None:
            catalogue = catalogue.astype({"item_id": str, "item_text": str, "category": str})
            catalogue["date"] = pd.to_datetime(catalogue["date"], utc=True)
        columns = None if catalogue is None else EVENT_COLUMNS_READ  # texts: catalogue only
        return cls(store, store.read_table("events", columns), interests, catalogue=catalogue,
                   tune=tune, random_state=random_state)

    @property
    def n_items(self) -> int:
        """Number of recommendable items."""
        return len(self.catalogue)

    @property
    def is_hybrid(self) -> bool:
        """True when events name items, so the hybrid recommender ranks them."""
        return self.collection == "items" and not self.interactions.empty

    def index_items(self, encoder: FusedEncoder, progress: Progress | None = None) -> None:
        """Save the catalogue table and embed it into the ``items`` collection.

        Event items are in the ``events`` collection already. Texts are embedded through the
        store's content-hash cache, so a re-run embeds nothing twice; items of an earlier run
        that left the catalogue are deleted from the collection. The vectors are also saved as
        an artifact keyed by the catalogue, which later sessions load instead of asking Chroma.
        """
        self.store.write_table(ITEMS_TABLE, self.catalogue, key=None)
        if self.collection == "items":
            ids = self.catalogue[ITEM_ID].tolist()
            vectors, _ = encoder.encode(self.catalogue[ITEM_TEXT_COLUMN].tolist(), self.store,
                                        progress=progress)
            self.store.replace_vectors("items", ids, vectors, progress=progress)
            self._item_vectors = np.asarray(vectors, dtype=np.float32)
            save_artifact(self.store.path, ITEM_VECTORS_ARTIFACT,
                          (self._catalogue_key(), self._item_vectors))

    def rank(self, owners: Sequence[str], vectors: np.ndarray | None, k: int, *,
             item_filter: ItemFilter | None = None) -> pd.DataFrame:
        """Return the top ``k`` unseen items per user.

        ``vectors`` are the owners' profiles, used in content mode only; None reads them from
        the store's ``users`` collection then. ``item_filter`` (category, dates) is applied
        before ranking and MMR, so ``k`` items still come back while enough pass it.
        """
        allowed = self.allowed(item_filter)
        if not self.is_hybrid:
            if vectors is None:
                vectors = self.store.get_vectors("users", list(owners))
            if allowed is None:
                return self._rank_nearest(owners, vectors, k)
            return self._rank_among(owners, vectors, k, allowed)
        ids, scores, evidence = self.hybrid().recommend(owners, k=k, candidates=allowed)
        return self._explain(owners, ids, scores, evidence, k)

    def for_owner(self, owner: str, vector: np.ndarray, k: int, *,
                  item_filter: ItemFilter | None = None) -> list[Recommendation]:
        """Return recommendation records for one user (or, in content mode, one segment)."""
        return self._records(self.rank([owner], vector.reshape(1, -1), k,
                                       item_filter=item_filter))

    def for_segment(self, segment_id: str, vector: np.ndarray, k: int, *,
                    item_filter: ItemFilter | None = None) -> list[Recommendation]:
        """Return recommendation records for a whole segment (``vector``: its centroid)."""
        if not self.is_hybrid:
            return self.for_owner(segment_id, vector, k, item_filter=item_filter)
        ids, scores, evidence = self.hybrid().recommend_segments(
            [segment_id], k=k, candidates=self.allowed(item_filter))
        return self._records(self._explain([segment_id], ids, scores, evidence, k))

    def allowed(self, item_filter: ItemFilter | None) -> list[str] | None:
        """Return the ids of the items passing ``item_filter`` (None: no filter).

        Raises:
            ConfigError: The category is unknown, a bound is not a date, or no item passes.
        """
        if item_filter is None or not item_filter.is_active:
            return None
        keep = item_filter.mask(self.catalogue)
        if not keep.any():
            raise ConfigError(f"no item passes the filters ({_describe(item_filter)}) among "
                              f"{self.n_items:,} items")
        return self.catalogue[ITEM_ID][keep].astype(str).tolist()

    def hybrid(self) -> HybridRecommender:
        """Return the fitted hybrid recommender, tuning or loading its weights on first use."""
        if self._hybrid is None:
            data = {"user_segments": self.user_segments, "item_vectors": self._vectors(),
                    "item_ids": self.catalogue[ITEM_ID].tolist()}
            model = HybridRecommender(random_state=self.random_state)
            model.set_params(**self._weights(model, data))
            self._hybrid = model.fit(self.interactions, **data)
        return self._hybrid

    def _vectors(self) -> np.ndarray:
        """Return the catalogue's item vectors: indexed now, saved by the run, or from Chroma.

        The saved copy is used only when its key is this catalogue's (ids and texts).
        """
        if self._item_vectors is None:
            try:
                key, vectors = load_artifact(self.store.path, ITEM_VECTORS_ARTIFACT)
            except StoreError:  # a store indexed before the copy was saved
                key = None
            self._item_vectors = (vectors if key == self._catalogue_key() else
                                  self.store.get_vectors("items", self.catalogue[ITEM_ID].tolist()))
        return self._item_vectors

    def _catalogue_key(self) -> str:
        """Return a hash of the catalogue's item ids and texts, in order."""
        digest = hashlib.sha256()
        for column in (ITEM_ID, ITEM_TEXT_COLUMN):
            digest.update("\x1f".join(map(str, self.catalogue[column])).encode("utf-8"))
            digest.update(b"\x1e")
        return digest.hexdigest()

    def _weights(self, model: HybridRecommender, data: dict) -> dict:
        """Return the tuned weights: tuned now (and saved), or as the last run saved them."""
        if self.tune:
            result = tune_hybrid(model, self.interactions, **data)
            params = result.params if result is not None else {}
            save_artifact(self.store.path, PARAMS_ARTIFACT, params)
            return params
        try:
            return load_artifact(self.store.path, PARAMS_ARTIFACT)
        except StoreError:
            logger.info("no tuned recommender weights in %s: defaults used", self.store.path)
            return {}

    def _explain(self, owners: Sequence[str], ids: list, scores: list, evidence: list,
                 k: int) -> pd.DataFrame:
        return rank_recommendations(owners, ids, scores, seen=self.seen,
                                    item_texts=self.item_texts, user_keywords=self.interests,
                                    k=k, evidence=evidence)

    def _rank_among(self, owners: Sequence[str], vectors: np.ndarray, k: int,
                    allowed: list[str]) -> pd.DataFrame:
        """Rank the ``allowed`` items by exact cosine to each owner's vector (content mode)."""
        items = normalize(self.store.get_vectors(self.collection, allowed))
        frames = []
        for start in range(0, len(owners), FILTER_BATCH):
            batch = list(owners[start:start + FILTER_BATCH])
            scores = normalize(np.atleast_2d(vectors[start:start + FILTER_BATCH])) @ items.T
            width = min(len(allowed), k + max(len(self.seen.get(o, ())) for o in batch))
            picks = top_k(scores, k=width)
            labels = self._labelled(allowed)
            frames.append(rank_recommendations(
                batch, [[labels[i] for i in row] for row in picks],
                np.take_along_axis(scores, picks, axis=1), seen=self.seen,
                item_texts=self.item_texts, user_keywords=self.interests, k=k))
        return pd.concat(frames, ignore_index=True)

    def _rank_nearest(self, owners: Sequence[str], vectors: np.ndarray, k: int) -> pd.DataFrame:
        """Rank the store's nearest items, grouped so each query asks for few extra."""
        need = np.array([k + len(self.seen.get(owner, ())) for owner in owners])
        buckets = np.minimum(2 ** np.ceil(np.log2(np.maximum(need, 1))), self.n_items).astype(int)
        frames = []
        for n in np.unique(buckets):
            rows = np.flatnonzero(buckets == n)
            ids, scores = self.store.nearest(self.collection, vectors[rows], int(n))
            frames.append(rank_recommendations(
                [owners[i] for i in rows], [self._labelled(row) for row in ids], scores,
                seen=self.seen,
                item_texts=self.item_texts, user_keywords=self.interests, k=k))
        ranked = pd.concat(frames, ignore_index=True)
        order = {owner: i for i, owner in enumerate(owners)}
        return ranked.sort_values(["user", "rank"], key=lambda c: c.map(order) if c.name == "user"
                                  else c, kind="stable").reset_index(drop=True)

    def _labelled(self, item_ids: Sequence[str]) -> list[str]:
        """Return the ids items are shown under (``item_labels``; else the id itself)."""
        return [self.item_labels.get(str(item), str(item)) for item in item_ids]

    def _records(self, frame: pd.DataFrame) -> list[Recommendation]:
        return [Recommendation(user=r.user, rank=int(r.rank), item_id=str(r.item),
                               item_text=self.item_texts.get(r.item, ""), score=float(r.score),
                               reason=r.reason, reason_mode=r.reason_mode, level=r.level,
                               evidence=tuple(filter(None, r.evidence.split(EVIDENCE_SEPARATOR))))
                for r in frame.itertuples(index=False)]


def _document_labels(events: pd.DataFrame, catalogue: pd.DataFrame) -> dict[str, str]:
    """Return event id -> user when the events are the items and each user has one event.

    That is document mode, where a row's "user" is the row's own id (or row number): a
    recommended row is shown under the id the input gave it, not its content hash.
    """
    users = events[USER].astype(str)
    if catalogue.empty or not catalogue["is_event_item"].all() or users.duplicated().any():
        return {}
    return dict(zip(events[EVENT_ID].astype(str), users, strict=True))


def _describe(item_filter: ItemFilter) -> str:
    """Return the active parts of a filter as ``--option value`` pairs."""
    parts = {"--category": item_filter.category, "--since": item_filter.since,
             "--until": item_filter.until}
    return ", ".join(f"{option} {value}" for option, value in parts.items() if value is not None)
