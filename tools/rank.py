"""Ranking helpers of the hybrid recommender: top-k, per-row scaling, MMR and time decay."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SECONDS_PER_DAY = 86_400.0


def top_k(scores: np.ndarray, *, k: int) -> np.ndarray:
    """Return each row's ``k`` highest-scoring column indices, best first (ties: lower first)."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros((len(scores), 0), dtype=int)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -best), axis=1)
    return np.take_along_axis(part, order, axis=1)


def scale_rows(scores: np.ndarray, seen: sp.spmatrix, *, copy: bool = True) -> np.ndarray:
    """Return ``scores`` min-max scaled to [0, 1] per row over its unseen columns (seen: 0).

    A row whose unseen scores are all equal scales to 0, as does a row with nothing unseen. With
    ``copy=False`` a writeable float32 ``scores`` is scaled in place (and returned).
    """
    out = np.array(scores, dtype=np.float32, copy=copy or None)
    rows, cols = sp.csr_matrix(seen).nonzero()
    out[rows, cols] = np.inf
    low = out.min(axis=1, keepdims=True)
    out[rows, cols] = -np.inf
    high = out.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        out -= low
        out /= np.where(high > low, high - low, 1.0)
    out[rows, cols] = 0.0
    out[~np.isfinite(out)] = 0.0
    return out


def mmr_rerank(scores: np.ndarray, items: np.ndarray, unit: np.ndarray, *, k: int,
               diversity: float, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``k`` of each row's candidate ``items`` (scored ``scores``) by MMR.

    Maximal marginal relevance: a candidate's gain is
    ``(1 - diversity) * relevance - diversity * redundancy``, relevance being its score min-max
    scaled within the row's candidates and redundancy its largest cosine (rows of ``unit``) to
    the items already picked. Candidates scoring -inf are never picked. Rows are processed
    ``batch`` at a time.

    Returns:
        The picked items (-1 pads a row that ran out) and each pick's reported score: the gain
        mapped back onto the score scale, i.e. the score less
        ``span * diversity / (1 - diversity) * redundancy``, so scores fall with rank.
    """
    parts = [_mmr_batch(scores[start:start + batch], items[start:start + batch], unit,
                        min(k, items.shape[1]), diversity)
             for start in range(0, len(items), batch)]
    if not parts:
        width = min(k, items.shape[1])
        return np.zeros((0, width), dtype=int), np.zeros((0, width), dtype=np.float32)
    return np.concatenate([p for p, _ in parts]), np.concatenate([r for _, r in parts])


def _mmr_batch(scores: np.ndarray, items: np.ndarray, unit: np.ndarray, width: int,
               diversity: float) -> tuple[np.ndarray, np.ndarray]:
    values = scores.astype(np.float64)
    available = np.isfinite(values)
    low = np.where(available, values, np.inf).min(axis=1)
    high = np.where(available, values, -np.inf).max(axis=1)
    span = np.where(high > low, high - low, 1.0)
    with np.errstate(invalid="ignore"):
        relevance = np.where(available, (values - low[:, None]) / span[:, None], 0.0)
    vectors = unit[np.maximum(items, 0)]
    rows = np.arange(len(items))
    redundancy = np.zeros(values.shape)
    picks = np.full((len(items), width), -1, dtype=int)
    reported = np.full((len(items), width), -np.inf, dtype=np.float32)
    for rank in range(width):
        gain = np.where(available, (1 - diversity) * relevance - diversity * redundancy,
                        -np.inf)
        best = gain.argmax(axis=1)
        found = np.isfinite(gain[rows, best])
        picks[found, rank] = items[rows, best][found]
        reported[found, rank] = (low + span * gain[rows, best] / (1 - diversity))[found]
        available[rows, best] = False
        # one similarity column per pick: k matrix-vector products, not a candidates² matrix
        picked = np.einsum("bcd,bd->bc", vectors, vectors[rows, best])
        redundancy = np.maximum(redundancy, picked)
    return picks, reported


def decayed_counts(items: np.ndarray, times: np.ndarray, nows: np.ndarray, *,
                   half_life_days: float, n_items: int) -> np.ndarray:
    """Return at each of ``nows`` per item the sum of ``0.5 ** ((now - t) / half_life)``.

    The sum runs over the interactions at or before ``now``.
    One sweep through time: the running sums decay from one ``now`` to the next and take in the
    interactions between them, so many ``nows`` cost little more than one.

    Args:
        items: Item index of each interaction.
        times: Epoch seconds of each interaction, ascending.
        nows: When the counts are taken (NaN: a row of zeros).
        half_life_days: Days after which an interaction counts half.
        n_items: Columns of the result.
    """
    half_life = half_life_days * SECONDS_PER_DAY
    out = np.zeros((len(nows), n_items), dtype=np.float32)
    running, at, done = np.zeros(n_items), None, 0
    for row in np.argsort(nows, kind="stable"):
        now = nows[row]
        if np.isnan(now):
            break  # NaN sorts last
        if at is not None:
            running *= 0.5 ** ((now - at) / half_life)
        stop = np.searchsorted(times, now, side="right")
        running += np.bincount(items[done:stop], weights=0.5 ** ((now - times[done:stop])
                                                                 / half_life), minlength=n_items)
        out[row], at, done = running, now, stop
    return out
