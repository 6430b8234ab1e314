"""Recommendation orchestration: the hybrid recommender when events name items, else content.

With item ids (products, movies, questions) the tuned ``HybridRecommender`` ranks the items;
without them (e.g. plain reviews, where each event is its own item) the store's nearest items to
the user's profile vector are ranked. Either way ``tools.recommend`` writes the reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from interestlens.agent.encoder import FusedEncoder
from interestlens.tools.collab import HybridRecommender
from interestlens.tools.collab_tune import tune_hybrid
from interestlens.tools.errors import StoreError
from interestlens.tools.evidence import SEGMENT
from interestlens.tools.interactions import (
    build_item_catalogue,
    interactions_from_events,
    seen_items,
)
from interestlens.tools.recommend import EVIDENCE_SEPARATOR, rank_recommendations
from interestlens.tools.records import ITEM_ID, USER, Progress, Recommendation
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact, save_artifact

logger = logging.getLogger(__name__)

ITEM_TEXT_COLUMN = "item_text"
PARAMS_ARTIFACT = "recommender_params"


class StoreRecommender:
    """Recommend unseen items to users and segments from one store.

    Args:
        store: The open store holding the ``users`` and item (or event) vectors.
        events: Kept events (user, item id/text, text, timestamp, event type, sentiment and, for
            segment-level picks, segment columns).
        interests: Each user's (or segment's) top interests, cited in the reasons.
        tune: Tune the hybrid's weights on these events and save them in the store (the pipeline
            does); otherwise reuse the weights a run saved (the defaults when none was saved).
        random_state: Seed of the tuner's user sampling.
    """

    def __init__(self, store: Store, events: pd.DataFrame,
                 interests: Mapping[str, Sequence[str]], *, tune: bool = False,
                 random_state: int = 0):
        self.store = store
        self.interests = interests
        self.tune = tune
        self.random_state = random_state
        self.catalogue = build_item_catalogue(events)
        self.seen = seen_items(events, self.catalogue)
        self.item_texts = dict(zip(self.catalogue[ITEM_ID], self.catalogue[ITEM_TEXT_COLUMN]))
        self.collection = "events" if self.catalogue["is_event_item"].all() else "items"
        self.interactions = interactions_from_events(events)
        labelled = events.dropna(subset=[SEGMENT]) if SEGMENT in events else None
        self.user_segments = ({} if labelled is None else
                              dict(zip(labelled[USER].astype(str), labelled[SEGMENT].astype(str))))
        self._item_vectors: np.ndarray | None = None
        self._hybrid: HybridRecommender | None = None

    @property
    def n_items(self) -> int:
        """Number of recommendable items."""
        return len(self.catalogue)

    @property
    def is_hybrid(self) -> bool:
        """True when events name items, so the hybrid recommender ranks them."""
        return self.collection == "items" and not self.interactions.empty

    def index_items(self, encoder: FusedEncoder, progress: Progress | None = None) -> None:
        """Embed the catalogue into the ``items`` collection (event items are indexed already)."""
        if self.collection == "items":
            vectors, _ = encoder.encode(self.catalogue[ITEM_TEXT_COLUMN].tolist(), self.store,
                                        progress=progress)
            self.store.upsert_vectors("items", self.catalogue[ITEM_ID].tolist(), vectors,
                                      progress=progress)
            self._item_vectors = vectors

    def rank(self, owners: Sequence[str], vectors: np.ndarray, k: int) -> pd.DataFrame:
        """Return the top ``k`` unseen items per user (``vectors``: profiles, for content mode)."""
        if not self.is_hybrid:
            return self._rank_nearest(owners, vectors, k)
        ids, scores, evidence = self.hybrid().recommend(owners, k=k)
        return self._explain(owners, ids, scores, evidence, k)

    def for_owner(self, owner: str, vector: np.ndarray, k: int) -> list[Recommendation]:
        """Return recommendation records for one user (or, in content mode, one segment)."""
        return self._records(self.rank([owner], vector.reshape(1, -1), k))

    def for_segment(self, segment_id: str, vector: np.ndarray, k: int) -> list[Recommendation]:
        """Return recommendation records for a whole segment (``vector``: its centroid)."""
        if not self.is_hybrid:
            return self.for_owner(segment_id, vector, k)
        ids, scores, evidence = self.hybrid().recommend_segments([segment_id], k=k)
        return self._records(self._explain([segment_id], ids, scores, evidence, k))

    def hybrid(self) -> HybridRecommender:
        """Return the fitted hybrid recommender, tuning or loading its weights on first use."""
        if self._hybrid is None:
            ids = self.catalogue[ITEM_ID].tolist()
            vectors = (self._item_vectors if self._item_vectors is not None
                       else self.store.get_vectors("items", ids))
            data = {"user_segments": self.user_segments, "item_vectors": vectors, "item_ids": ids}
            model = HybridRecommender(random_state=self.random_state)
            model.set_params(**self._weights(model, data))
            self._hybrid = model.fit(self.interactions, **data)
        return self._hybrid

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

    def _rank_nearest(self, owners: Sequence[str], vectors: np.ndarray, k: int) -> pd.DataFrame:
        """Rank the store's nearest items, grouped so each query asks for few extra."""
        need = np.array([k + len(self.seen.get(owner, ())) for owner in owners])
        buckets = np.minimum(2 ** np.ceil(np.log2(np.maximum(need, 1))), self.n_items).astype(int)
        frames = []
        for n in np.unique(buckets):
            rows = np.flatnonzero(buckets == n)
            ids, scores = self.store.nearest(self.collection, vectors[rows], int(n))
            frames.append(rank_recommendations(
                [owners[i] for i in rows], ids, scores, seen=self.seen,
                item_texts=self.item_texts, user_keywords=self.interests, k=k))
        ranked = pd.concat(frames, ignore_index=True)
        order = {owner: i for i, owner in enumerate(owners)}
        return ranked.sort_values(["user", "rank"], key=lambda c: c.map(order) if c.name == "user"
                                  else c, kind="stable").reset_index(drop=True)

    def _records(self, frame: pd.DataFrame) -> list[Recommendation]:
        return [Recommendation(user=r.user, rank=int(r.rank), item_id=str(r.item),
                               item_text=self.item_texts.get(r.item, ""), score=float(r.score),
                               reason=r.reason, reason_mode=r.reason_mode,
                               evidence=tuple(filter(None, r.evidence.split(EVIDENCE_SEPARATOR))))
                for r in frame.itertuples(index=False)]
