"""Pick the hybrid recommender's weights on a validation split carved from its training data.

The training interactions are split again by time (``carve_validation``); a copy of the
recommender is fitted on the older part, and coordinate ascent over ``WEIGHT_GRID`` (recency
jointly with its half-life and clock), starting from EASE alone, maximises NDCG@k of finding each
validation user's held-out positive items. A move is taken only when it gains more than
``min_gain`` (relative), which keeps noise-level terms out. Then the cold-start weights and the
cold-start threshold are tuned the same way, and finally the largest MMR diversity whose NDCG
stays within ``tolerance`` (relative) of the best is kept. Only the training data is looked at.
While tuning, each validation user is ranked over the union of every term's best
``CANDIDATES_PER_TERM`` items rather than the whole catalogue (about 10x faster).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from interestlens.tools.collab import COLD_TERMS, TERMS, HybridRecommender, HybridTerms
from interestlens.tools.interactions import carve_validation
from interestlens.tools.rank import top_k

logger = logging.getLogger(__name__)

WEIGHT_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0)
HALF_LIFE_GRID = (0.25, 1.0, 7.0, 30.0, 90.0, 365.0)
CLOCKS = ("latest", "user")
MIN_USER_EVENTS_GRID = (1, 2, 3, 5)
DIVERSITY_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
CANDIDATES_PER_TERM = 50  # per validation user, each term's best items ranked while tuning
TERM_CELLS = 2_000_000  # users x items whose terms are computed at once, before narrowing
START: Mapping[str, float] = {
    "collab": 1.0, "collab_positive": 0.0, "content": 0.0, "segment": 0.0, "recency": 0.0,
    "popularity": 0.0, "half_life_days": 90.0, "clock": "latest", "diversity": 0.0,
    "min_user_events": 3, "cold_segment": 1.0, "cold_recency": 0.0, "cold_popularity": 0.1,
}


@dataclass(frozen=True)
class TuneResult:
    """The weights ``tune_hybrid`` chose and how they scored on validation.

    Args:
        params: The chosen weights, ready for ``HybridRecommender.set_params``.
        ndcg: Validation NDCG@k with them.
        start_ndcg: Validation NDCG@k of the starting point (EASE alone).
        n_users: Validation users scored.
        n_cold_users: Of them, how many had too few training events (cold start).
    """

    params: dict[str, float | str]
    ndcg: float
    start_ndcg: float
    n_users: int
    n_cold_users: int


def ndcg_at_k(picks: np.ndarray, targets: Sequence[np.ndarray]) -> float:
    """Return the mean binary NDCG of ranked item lists (-1 pads) against their positive sets.

    The ideal DCG counts ``min(k, n_positives)`` hits; rows without positives are skipped, and a
    negative target counts as a positive that cannot be found.
    """
    flat = np.concatenate([np.asarray(t, dtype=np.int64) for t in targets] or [np.zeros(0)])
    width = int(max(picks.max(initial=0), flat.max(initial=0))) + 1
    return _ndcg(picks, _truth(targets, width), np.array([len(t) for t in targets]))


def _truth(targets: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    """Return owners x items, True at each (non-negative) target."""
    truth = np.zeros((len(targets), n_items), dtype=bool)
    for row, items in enumerate(targets):
        items = np.asarray(items, dtype=np.int64)
        truth[row, items[items >= 0]] = True
    return truth


def _ndcg(picks: np.ndarray, truth: np.ndarray, counts: np.ndarray) -> float:
    if not counts.any():
        return 0.0
    hits = truth[np.arange(len(picks))[:, None], np.maximum(picks, 0)] & (picks >= 0)
    discounts = 1.0 / np.log2(np.arange(2, picks.shape[1] + 2))
    ideal = np.cumsum(discounts)[np.minimum(counts, picks.shape[1]) - 1]
    has = counts > 0
    return float(np.mean((hits @ discounts)[has] / ideal[has]))


def _prune(terms: HybridTerms, width: int) -> HybridTerms:
    """Return ``terms`` narrowed, per owner, to the union of every term's ``width`` best items.

    Tuning then ranks a few hundred columns instead of the catalogue; an item outside all of
    these lists seldom reaches a top 10, so the chosen weights barely change.
    """
    tops = np.concatenate([top_k(values, k=width) for values in terms.values.values()], axis=1)
    tops.sort(axis=1)
    repeated = np.zeros_like(tops, dtype=bool)
    repeated[:, 1:] = tops[:, 1:] == tops[:, :-1]
    order = np.argsort(repeated, axis=1, kind="stable")  # unique items first, ascending
    columns = np.take_along_axis(tops, order, axis=1)
    n_columns = int((~repeated).sum(axis=1).max())
    columns = columns[:, :n_columns]
    is_pad = np.take_along_axis(repeated, order, axis=1)[:, :n_columns]
    seen = np.asarray(terms.seen[np.arange(len(columns))[:, None], columns].todense(), dtype=bool)
    return HybridTerms(
        terms.rows, terms.segments,
        {key: np.take_along_axis(values, columns, axis=1) for key, values in terms.values.items()},
        sp.csr_matrix(seen | is_pad), terms.n_events, terms.level, columns)


def tune_hybrid(recommender: HybridRecommender, interactions: pd.DataFrame, *,
                user_segments: Mapping[str, str] | None = None,
                item_vectors: np.ndarray | None = None, item_ids: Sequence[str] | None = None,
                train_fraction: float = 0.8, k: int = 10, n_passes: int = 2,
                min_gain: float = 0.005, tolerance: float = 0.01, max_users: int = 2000,
                min_users: int = 10) -> TuneResult | None:
    """Return the weights that maximise validation NDCG@k, or None when too few users validate.

    Args:
        recommender: Supplies every parameter that is not tuned (``l2``, ``pool``) and
            ``random_state``, which samples ``max_users`` validation users when there are more.
        interactions: The training interactions (``INTERACTION_COLUMNS``).
        user_segments: As for ``HybridRecommender.fit``.
        item_vectors: As for ``HybridRecommender.fit``; without them content and diversity stay 0.
        item_ids: As for ``HybridRecommender.fit``.
        train_fraction: Share of each user's interactions kept for fitting during validation.
        k: Length of the ranked lists NDCG is measured on.
        n_passes: Rounds of coordinate ascent over the personal weights.
        min_gain: Relative NDCG gain a move must bring to be taken.
        tolerance: Relative NDCG loss allowed for diversity.
        max_users: Most validation users scored.
        min_users: Fewest validation users worth tuning on.
    """
    inner, targets = carve_validation(interactions, train_fraction=train_fraction)
    users = sorted(targets)
    if len(users) < min_users:
        logger.info("tuning skipped: %d validation users (< %d)", len(users), min_users)
        return None
    if len(users) > max_users:
        rng = np.random.default_rng(recommender.random_state)
        users = sorted(rng.choice(np.array(users, dtype=object), max_users, replace=False))
    model = clone(recommender).set_params(**START)
    model.fit(inner, user_segments=user_segments, item_vectors=item_vectors, item_ids=item_ids)
    terms = _validation_terms(model, users)
    index = pd.Index(model.item_ids_)
    # -2 marks a positive outside the catalogue: it counts in the ideal DCG but is never found
    positives = [np.where((found := index.get_indexer(targets[user])) >= 0, found, -2)
                 for user in users]
    search = _Search(model, terms, _truth(positives, len(model.item_ids_)),
                     np.array([len(p) for p in positives]), k, min_gain)
    start = search.best_ndcg
    names = [n for n in TERMS if n != "recency" and (n != "content" or item_vectors is not None)]
    moves = [{name: w} for name in names for w in WEIGHT_GRID]
    moves += [{"recency": w, "half_life_days": h, "clock": c}
              for w in WEIGHT_GRID for h in HALF_LIFE_GRID for c in CLOCKS]
    for _ in range(n_passes):
        if not search.try_moves(moves):
            break  # another pass from the same weights would take no move either
    if (terms.n_events < max(MIN_USER_EVENTS_GRID)).any():
        search.try_moves([{f"cold_{name}": w} for name in COLD_TERMS for w in WEIGHT_GRID])
        search.try_moves([{"min_user_events": n} for n in MIN_USER_EVENTS_GRID])
    if item_vectors is not None:
        floor = (1 - tolerance) * search.best_ndcg
        for diversity in DIVERSITY_GRID[1:]:
            if search.ndcg({"diversity": diversity}) >= floor:
                search.best["diversity"] = diversity
    logger.info("hybrid weights tuned on %d validation users: NDCG@%d %.4f (EASE alone %.4f): %s",
                len(users), k, search.best_ndcg, start, search.best)
    return TuneResult(dict(search.best), search.best_ndcg, start, len(users),
                      int(model.set_params(**search.best).cold_mask(terms).sum()))


def _validation_terms(model: HybridRecommender, users: list[str]) -> HybridTerms:
    """Return the validation users' terms (recency at every half-life and clock), narrowed.

    They are computed ``TERM_CELLS`` users x items at a time and narrowed batch by batch.
    """
    recencies = [(days, clock) for days in HALF_LIFE_GRID for clock in CLOCKS]
    size = max(1, TERM_CELLS // len(model.item_ids_))
    return _stack([_prune(model.terms(users[start:start + size], recencies=recencies),
                          CANDIDATES_PER_TERM) for start in range(0, len(users), size)])


def _stack(parts: list[HybridTerms]) -> HybridTerms:
    """Return narrowed terms of several batches as one, padding the columns to the widest."""
    width = max(part.columns.shape[1] for part in parts)

    def pad(values: np.ndarray, fill: float | bool) -> np.ndarray:
        return np.pad(values, ((0, 0), (0, width - values.shape[1])), constant_values=fill)

    first = parts[0]
    return HybridTerms(
        np.concatenate([p.rows for p in parts]), np.concatenate([p.segments for p in parts]),
        {key: np.concatenate([pad(p.values[key], 0.0) for p in parts]) for key in first.values},
        sp.csr_matrix(np.concatenate([pad(p.seen.toarray().astype(bool), True) for p in parts])),
        np.concatenate([p.n_events for p in parts]), first.level,
        np.concatenate([pad(p.columns, 0) for p in parts]))


class _Search:
    """Coordinate ascent state: the fitted validation model, its terms and the best weights."""

    def __init__(self, model: HybridRecommender, terms: HybridTerms, truth: np.ndarray,
                 counts: np.ndarray, k: int, min_gain: float):
        self.model, self.terms, self.truth, self.counts = model, terms, truth, counts
        self.k, self.min_gain = k, min_gain
        self.best = dict(START)
        self.best_ndcg = self.ndcg({})

    def ndcg(self, move: Mapping[str, float]) -> float:
        """Return validation NDCG with the best weights changed by ``move``."""
        self.model.set_params(**{**self.best, **move})
        picks, _ = self.model.rank(self.terms, k=self.k)
        return _ndcg(picks, self.truth, self.counts)

    def try_moves(self, moves: Sequence[Mapping[str, float]]) -> bool:
        """Take, in turn, each move that beats the best NDCG by more than ``min_gain``.

        Returns:
            Whether any move was taken.
        """
        taken = False
        for move in moves:
            if all(self.best[key] == value for key, value in move.items()) or (
                    move.get("recency") == 0 and self.best["recency"] == 0):
                continue  # no change to the ranking
            value = self.ndcg(move)
            if value > (1 + self.min_gain) * self.best_ndcg:
                self.best.update(move)
                self.best_ndcg = value
                taken = True
        return taken
