"""Recommendation orchestration: nearest items from the store, ranked and explained by tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from interestlens.agent.encoder import FusedEncoder
from interestlens.tools.recommend import build_item_catalogue, rank_recommendations, seen_items
from interestlens.tools.records import ITEM_ID, Progress, Recommendation
from interestlens.vectorstore import Store

ITEM_TEXT_COLUMN = "item_text"


class StoreRecommender:
    """Content-based recommendation by cosine similarity in the store's item collection.

    Args:
        store: The open store holding the ``users`` and item (or event) vectors.
        events: Kept events (needs user, item id/text, text columns).
        interests: Each user's (or segment's) top interests, cited in the reasons.
    """

    def __init__(self, store: Store, events: pd.DataFrame,
                 interests: Mapping[str, Sequence[str]]):
        self.store = store
        self.interests = interests
        self.catalogue = build_item_catalogue(events)
        self.seen = seen_items(events, self.catalogue)
        self.item_texts = dict(zip(self.catalogue[ITEM_ID], self.catalogue[ITEM_TEXT_COLUMN]))
        self.collection = "events" if self.catalogue["is_event_item"].all() else "items"

    @property
    def n_items(self) -> int:
        """Number of recommendable items."""
        return len(self.catalogue)

    def index_items(self, encoder: FusedEncoder, progress: Progress | None = None) -> None:
        """Embed the catalogue into the ``items`` collection (event items are indexed already)."""
        if self.collection == "items":
            vectors, _ = encoder.encode(self.catalogue[ITEM_TEXT_COLUMN].tolist(), self.store,
                                        progress=progress)
            self.store.upsert_vectors("items", self.catalogue[ITEM_ID].tolist(), vectors,
                                      progress=progress)

    def rank(self, owners: Sequence[str], vectors: np.ndarray, k: int) -> pd.DataFrame:
        """Return the top ``k`` unseen items per owner, grouped so each query asks for few extra."""
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

    def for_owner(self, owner: str, vector: np.ndarray, k: int) -> list[Recommendation]:
        """Return recommendation records for one user or segment."""
        frame = self.rank([owner], vector.reshape(1, -1), k)
        return [Recommendation(user=r.user, rank=int(r.rank), item_id=str(r.item),
                               item_text=self.item_texts.get(r.item, ""), score=float(r.score),
                               reason=r.reason, reason_mode=r.reason_mode)
                for r in frame.itertuples(index=False)]
