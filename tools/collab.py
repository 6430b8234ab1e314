"""The hybrid recommender: collaborative (EASE), content, segment, recency and popularity terms.

Each term is min-max scaled to [0, 1] per user over the items the user has not seen; the scaled
terms are weighted and summed, seen items are dropped, and when ``diversity`` > 0 the best
``pool`` items are re-ranked by maximal marginal relevance (MMR). Users with fewer than
``min_user_events`` interactions ("cold start") are scored by the population terms only: segment,
recency and popularity, with the ``cold_*`` weights. ``tools.collab_tune`` picks the weights.

The terms, for user u and item i:

- ``collab``: ``x_u · B``, EASE (``tools.ease``) fitted on every interaction;
- ``collab_positive``: the same on positive interactions only (``is_positive``);
- ``content``: cosine(mean vector of u's items, vector of i);
- ``segment``: log1p(users of u's segment who interacted with i);
- ``recency``: log1p(Σ 0.5^((now - t) / half_life)) over the interactions with i up to now;
- ``popularity``: log1p(interactions with i).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from interestlens.tools.collab_evidence import (
    COLD_TERMS,
    TERMS,
    EvidenceMixin,
    Level,
    Picks,
)
from interestlens.tools.ease import fit_ease
from interestlens.tools.errors import ConfigError
from interestlens.tools.interactions import (
    INTERACTION_COLUMNS,
    binary_matrix,
    epoch_seconds,
    seen_matrix,
    select_rows,
)
from interestlens.tools.rank import decayed_counts, mmr_rerank, scale_rows, top_k

logger = logging.getLogger(__name__)

BATCH_CELLS = 4_000_000  # users x items scored together (at most 512 users)


@dataclass(frozen=True)
class HybridTerms:
    """The scaled terms of some owners, ready to be weighted (see ``HybridRecommender.terms``).

    Args:
        rows: Fitted user row of each owner, -1 for owners without interactions.
        segments: Segment code of each owner, -1 when unknown.
        values: Term name -> owners x items in [0, 1]; the recency term once per half-life and
            clock, keyed ``recency@{half_life:g}/{clock}``.
        seen: Owners x items, nonzero where the item may not be recommended.
        n_events: Interactions of each owner (0 for a segment).
        level: What kind of owners these are.
        columns: Per owner, the catalogue index of each column; None when the columns are the
            whole catalogue (``tools.collab_tune`` narrows them to candidates).
    """

    rows: np.ndarray
    segments: np.ndarray
    values: dict[str, np.ndarray]
    seen: sp.csr_matrix
    n_events: np.ndarray
    level: Level
    columns: np.ndarray | None = None


class HybridRecommender(EvidenceMixin, BaseEstimator):
    """Recommend unseen items by a weighted sum of scaled collaborative and population terms.

    Args:
        l2: EASE ridge strength λ.
        collab: Weight of EASE on all interactions.
        collab_positive: Weight of EASE on positive interactions.
        content: Weight of the content cosine (needs ``item_vectors`` at fit).
        segment: Weight of the segment popularity.
        recency: Weight of the time-decayed popularity.
        popularity: Weight of the global popularity.
        half_life_days: Half-life of the recency term.
        diversity: MMR trade-off in [0, 1) (0: rank by score alone; needs ``item_vectors``).
        pool: How many best items MMR re-ranks.
        min_user_events: Users with fewer interactions get the cold-start (population) scores.
        cold_segment: Cold-start and segment-level weight of the segment popularity.
        cold_recency: Cold-start and segment-level weight of the recency term.
        cold_popularity: Cold-start and segment-level weight of the global popularity.
        clock: When "now" is for the recency term: ``"latest"`` (the newest interaction of all)
            or ``"user"`` (each user's newest interaction: what was trending when the user was
            last active, which predicts users who come back in bursts); the tuner picks it.
        random_state: Unused by ``fit`` (it is deterministic); kept for the tuner's sampling.

    Attributes:
        item_ids_: Catalogue item ids (the ``item_ids`` given, then new interaction items).
        user_ids_: Users with interactions, sorted.
        matrix_: Users x items, 1.0 where the user interacted; ``positive_matrix_`` positives only.
        ease_: EASE on ``matrix_``; ``ease_positive_`` on ``positive_matrix_`` (None if empty).
        n_events_: Interactions of each user.
        popularity_: Interactions with each item.
        segment_ids_: Known segment labels; ``segment_of_`` maps a user to its code;
            ``segment_counts_`` is segments x items, users of the segment who used the item.
        event_items_, event_times_: Interactions with a time (epoch seconds), oldest first.
        last_seen_: Newest interaction time of each user (NaN when unknown); ``now_`` of all.
        item_unit_: Unit item vectors (zero rows for items without one), or None.
    """

    def __init__(self, l2: float = 500.0, collab: float = 1.0, collab_positive: float = 1.0,
                 content: float = 0.1, segment: float = 0.1, recency: float = 0.0,
                 popularity: float = 0.1, half_life_days: float = 30.0, diversity: float = 0.0,
                 pool: int = 50, min_user_events: int = 3, cold_segment: float = 1.0,
                 cold_recency: float = 0.0, cold_popularity: float = 0.1,
                 clock: Literal["latest", "user"] = "latest", random_state: int | None = 0):
        self.l2 = l2
        self.collab = collab
        self.collab_positive = collab_positive
        self.content = content
        self.segment = segment
        self.recency = recency
        self.popularity = popularity
        self.half_life_days = half_life_days
        self.diversity = diversity
        self.pool = pool
        self.min_user_events = min_user_events
        self.cold_segment = cold_segment
        self.cold_recency = cold_recency
        self.cold_popularity = cold_popularity
        self.clock = clock
        self.random_state = random_state

    def fit(self, interactions: pd.DataFrame, y: None = None, *,
            user_segments: Mapping[str, str] | None = None,
            item_vectors: np.ndarray | None = None,
            item_ids: Sequence[str] | None = None) -> HybridRecommender:
        """Learn every term's model from ``interactions`` (``INTERACTION_COLUMNS``).

        Args:
            interactions: One row per interaction; ``timestamp`` may be NaT.
            y: Ignored.
            user_segments: Segment label of each user (users without interactions too).
            item_vectors: One vector per ``item_ids`` entry, for the content term and MMR.
            item_ids: The catalogue, in ``item_vectors`` order; interaction items not in it are
                appended.

        Raises:
            ConfigError: A column is missing, the vectors do not match ``item_ids``, a weight
                is negative, or ``diversity`` is outside [0, 1) or set without item vectors.
        """
        frame = self._checked(interactions, item_vectors, item_ids)
        known = [] if item_ids is None else [str(i) for i in item_ids]
        self.item_ids_ = np.array(list(dict.fromkeys([*known, *pd.unique(frame["item"])])),
                                  dtype=object)
        items = pd.Index(self.item_ids_).get_indexer(frame["item"])
        self.user_ids_, users = np.unique(frame["user"].to_numpy(dtype=str), return_inverse=True)
        shape = (len(self.user_ids_), len(self.item_ids_))
        positive = frame["is_positive"].to_numpy(dtype=bool)
        self.matrix_ = binary_matrix(users, items, shape)
        self.positive_matrix_ = binary_matrix(users[positive], items[positive], shape)
        self.ease_ = fit_ease(self.matrix_, l2=self.l2)
        self.ease_positive_ = (fit_ease(self.positive_matrix_, l2=self.l2) if positive.any()
                               else None)
        self.n_events_ = np.bincount(users, minlength=shape[0])
        self.popularity_ = np.bincount(items, minlength=shape[1]).astype(np.float64)
        self._fit_times(users, items, epoch_seconds(frame["timestamp"]))
        self._fit_segments(user_segments or {})
        self.item_unit_ = None
        if item_vectors is not None:
            unit = np.zeros((shape[1], np.shape(item_vectors)[1]), dtype=np.float32)
            unit[:len(known)] = normalize(np.asarray(item_vectors, dtype=np.float32))
            self.item_unit_ = unit
        logger.info("hybrid recommender: %d users, %d items, %d interactions (%d positive), "
                    "EASE %s", shape[0], shape[1], len(frame), positive.sum(),
                    "dual" if self.ease_.weights is None else "primal")
        return self

    def _checked(self, interactions: pd.DataFrame, item_vectors: np.ndarray | None,
                 item_ids: Sequence[str] | None) -> pd.DataFrame:
        missing = [c for c in INTERACTION_COLUMNS if c not in interactions]
        if missing:
            raise ConfigError(f"interactions lack column(s) {', '.join(missing)}")
        if item_vectors is not None and (item_ids is None or len(item_vectors) != len(item_ids)):
            raise ConfigError("item_vectors need item_ids, one id per vector row")
        weights = [getattr(self, name) for name in (*TERMS, *(f"cold_{t}" for t in COLD_TERMS))]
        if min(weights) < 0 or not 0 <= self.diversity < 1:
            raise ConfigError(f"hybrid weights must be >= 0 and 0 <= diversity < 1, "
                              f"got {weights}, diversity={self.diversity}")
        if self.diversity > 0 and item_vectors is None:
            raise ConfigError("diversity > 0 needs item_vectors for MMR")
        frame = interactions[list(INTERACTION_COLUMNS)].dropna(subset=["user", "item"])
        if frame.empty:
            raise ConfigError("the hybrid recommender needs at least one interaction")
        return frame.astype({"user": str, "item": str})

    def _fit_times(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
        known = ~np.isnan(times)
        order = np.argsort(times[known], kind="stable")
        self.event_items_, self.event_times_ = items[known][order], times[known][order]
        self.last_seen_ = np.full(len(self.user_ids_), np.nan)
        np.fmax.at(self.last_seen_, users[known], times[known])
        self.now_ = float(self.event_times_[-1]) if len(self.event_times_) else np.nan

    def _fit_segments(self, user_segments: Mapping[str, str]) -> None:
        labels = {str(user): str(label) for user, label in user_segments.items()
                  if label is not None and not pd.isna(label)}
        self.segment_ids_ = np.array(sorted(set(labels.values())), dtype=object)
        code = {label: n for n, label in enumerate(self.segment_ids_)}
        self.segment_of_ = {user: code[label] for user, label in labels.items()}
        member = np.array([self.segment_of_.get(u, -1) for u in self.user_ids_], dtype=int)
        has = member >= 0
        members = sp.csr_matrix((np.ones(has.sum()), (member[has], np.flatnonzero(has))),
                                shape=(len(self.segment_ids_), len(self.user_ids_)))
        self.segment_counts_ = sp.csr_matrix(members @ self.matrix_)

    # ---- scoring -------------------------------------------------------------------------------

    def terms(self, user_ids: Sequence[str], *,
              recencies: Sequence[tuple[float, str]] | None = None) -> HybridTerms:
        """Return every scaled term for ``user_ids``, recency at each (half-life, clock) pair."""
        check_is_fitted(self, "matrix_")
        return self._user_terms(list(user_ids), set(TERMS), recencies, {})

    def score(self, user_ids: Sequence[str]) -> np.ndarray:
        """Return the hybrid score of every catalogue item for each user; seen items get -inf."""
        check_is_fitted(self, "matrix_")
        return self.combine(self._user_terms(list(user_ids), self._needed(), None, {}))

    def recommend(self, user_ids: Sequence[str], *, k: int = 10,
                  seen: Mapping[str, set[str]] | None = None,
                  candidates: Sequence[str] | None = None) -> Picks:
        """Return each user's ``k`` best unseen items, their scores and the evidence for each.

        Args:
            user_ids: Users to recommend for; unknown ones get the cold-start recommendations.
            k: Items per user (fewer when the catalogue runs out).
            seen: More items per user never to recommend, beside the fitted interactions.
            candidates: Only these items may be recommended (a filter); None: any item. The
                filter is applied before MMR, and the order among the candidates is the order
                they have without it.

        Returns:
            Item ids, scores (non-increasing: the hybrid score less any MMR diversity penalty)
            and ``HybridEvidence`` per user, best first.
        """
        check_is_fitted(self, "matrix_")
        users, out = [str(u) for u in user_ids], ([], [], [])
        allowed = self._allowed(candidates)
        size = min(512, max(1, BATCH_CELLS // len(self.item_ids_)))
        for start in range(0, len(users), size):
            batch = self._user_terms(users[start:start + size], self._needed(), None, seen or {})
            for part, values in zip(out, self._explained(batch, k, allowed), strict=True):
                part.extend(values)
        return out

    def recommend_segments(self, segment_ids: Sequence[str], *, k: int = 10,
                           candidates: Sequence[str] | None = None) -> Picks:
        """Return each segment's ``k`` best items by the population terms (``cold_*`` weights).

        ``candidates`` filters the items as in ``recommend``.
        """
        check_is_fitted(self, "matrix_")
        code = {str(label): n for n, label in enumerate(self.segment_ids_)}
        segments = np.array([code.get(str(s), -1) for s in segment_ids], dtype=int)
        rows = np.full(len(segments), -1)
        terms = self._terms(rows, segments, sp.csr_matrix((len(rows), len(self.item_ids_))),
                            set(COLD_TERMS), None, "segment")
        return self._explained(terms, k, self._allowed(candidates))

    def _allowed(self, candidates: Sequence[str] | None) -> np.ndarray | None:
        """Return which catalogue items are among ``candidates`` (None: all are)."""
        if candidates is None:
            return None
        return pd.Index(self.item_ids_).isin([str(c) for c in candidates])

    def combine(self, terms: HybridTerms) -> np.ndarray:
        """Return the weighted sum of ``terms`` under the current weights; seen items get -inf."""
        cold, shape = self.cold_mask(terms), terms.seen.shape
        total = np.zeros(shape, dtype=np.float32)
        if not cold.all():  # cold rows are summed too, then overwritten: cheaper than gathering
            total = self._weighted(terms.values, TERMS, "", shape)
        if cold.any():
            keys = {self._key(name) for name in COLD_TERMS if getattr(self, f"cold_{name}")}
            total[cold] = self._weighted({key: terms.values[key][cold] for key in keys},
                                         COLD_TERMS, "cold_", (int(cold.sum()), shape[1]))
        total[terms.seen.nonzero()] = -np.inf
        return total

    def cold_mask(self, terms: HybridTerms) -> np.ndarray:
        """Return which owners get the population (cold-start or segment-level) scores."""
        if terms.level == "segment":
            return np.ones(len(terms.rows), dtype=bool)
        return terms.n_events < self.min_user_events

    def _weighted(self, values: dict[str, np.ndarray], names: Sequence[str], prefix: str,
                  shape: tuple[int, int]) -> np.ndarray:
        """Return the sum of the terms ``names`` times their weights (params ``prefix + name``)."""
        total, scratch = np.zeros(shape, dtype=np.float32), np.empty(shape, dtype=np.float32)
        for name in names:
            if getattr(self, prefix + name):
                total += np.multiply(values[self._key(name)], getattr(self, prefix + name),
                                     out=scratch)
        return total

    def _key(self, name: str) -> str:
        """Return the ``HybridTerms.values`` key of a term under the current half-life."""
        return f"recency@{self.half_life_days:g}/{self.clock}" if name == "recency" else name

    def rank(self, terms: HybridTerms, *, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Return each owner's ``k`` best item indices and their reported scores (MMR applied).

        Rows that run out of unseen items are padded with scores of -inf.
        """
        return self._ranked(self.combine(terms), k, terms.columns)

    def _ranked(self, total: np.ndarray, k: int,
                columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        picks = top_k(total, k=k if self.diversity == 0 else max(self.pool, k))
        scores = np.take_along_axis(total, picks, axis=1)
        if columns is not None:
            picks = np.take_along_axis(columns, picks, axis=1)
        if self.diversity == 0:
            return picks, scores
        return mmr_rerank(scores, picks, self.item_unit_, k=k, diversity=self.diversity)

    def _needed(self) -> set[str]:
        personal = {name for name in TERMS if getattr(self, name)}
        return personal | {name for name in COLD_TERMS if getattr(self, f"cold_{name}")}

    def _user_terms(self, users: list[str], names: set[str],
                    recencies: Sequence[tuple[float, str]] | None,
                    seen: Mapping[str, set[str]]) -> HybridTerms:
        rows = pd.Index(self.user_ids_).get_indexer(users)
        segments = np.array([self.segment_of_.get(u, -1) for u in users], dtype=int)
        extra = seen_matrix(users, seen, self.item_ids_)
        terms = self._terms(rows, segments, select_rows(self.matrix_, rows) + extra, names,
                            recencies, "user")
        return replace(terms, n_events=np.where(rows >= 0, self.n_events_[np.maximum(rows, 0)], 0))

    def _terms(self, rows: np.ndarray, segments: np.ndarray, seen: sp.csr_matrix,
               names: set[str], recencies: Sequence[tuple[float, str]] | None,
               level: Level) -> HybridTerms:
        shape = (len(rows), len(self.item_ids_))
        raw: dict[str, np.ndarray] = {}
        models = {"collab": (self.ease_, self.matrix_),
                  "collab_positive": (self.ease_positive_, self.positive_matrix_)}
        for name, (model, matrix) in models.items():
            if name in names:
                raw[name] = (model.scores(select_rows(matrix, rows), fitted=rows)
                             if model is not None else np.zeros(shape, dtype=np.float32))
        if "content" in names:
            raw["content"] = self._content(select_rows(self.matrix_, rows), shape)
        if "segment" in names:
            raw["segment"] = np.log1p(select_rows(self.segment_counts_, segments).toarray())
        if "popularity" in names:
            raw["popularity"] = np.broadcast_to(np.log1p(self.popularity_), shape)
        if "recency" in names:
            for days, clock in recencies or [(self.half_life_days, self.clock)]:
                raw[f"recency@{days:g}/{clock}"] = np.log1p(self._decayed(rows, days, clock))
        values = {name: scale_rows(score, seen, copy=not score.flags.writeable)
                  for name, score in raw.items()}
        return HybridTerms(rows, segments, values, sp.csr_matrix(seen), np.zeros(len(rows), int),
                           level)

    def _content(self, seen: sp.csr_matrix, shape: tuple[int, int]) -> np.ndarray:
        if self.item_unit_ is None:
            return np.zeros(shape, dtype=np.float32)
        profiles = normalize(np.asarray(seen @ self.item_unit_, dtype=np.float32))
        return profiles @ self.item_unit_.T

    def _decayed(self, rows: np.ndarray, half_life_days: float, clock: str) -> np.ndarray:
        """Return the time-decayed interaction counts at each owner's "now" under ``clock``."""
        if clock == "latest":
            nows = np.array([self.now_])
        else:  # owners without interactions are taken at the latest time
            nows = np.where(rows >= 0, self.last_seen_[np.maximum(rows, 0)], np.nan)
            nows = np.where(np.isnan(nows), self.now_, nows)
        counts = decayed_counts(self.event_items_, self.event_times_, nows,
                                half_life_days=half_life_days, n_items=len(self.item_ids_))
        return np.broadcast_to(counts, (len(rows), counts.shape[1]))
