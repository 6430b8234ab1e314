"""Evidence of the hybrid recommender: why each item was recommended, for the reasons to cite.

``EvidenceMixin`` gives ``HybridRecommender`` its explaining step: for each pick, how much each
term added, the user's own items that point to it most (EASE weights), the user's segment and how
many of its users took the item, and the item's recent and overall interaction counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

from interestlens.tools.interactions import select_rows

if TYPE_CHECKING:
    from interestlens.tools.collab import HybridTerms

TERMS: tuple[str, ...] = ("collab", "collab_positive", "content", "segment", "recency",
                          "popularity")
COLD_TERMS: tuple[str, ...] = ("segment", "recency", "popularity")  # the population terms
N_BECAUSE_ITEMS = 2
BECAUSE_BATCH = 64  # owners whose picks' EASE weights are read together (64 x k x items floats)
Level = Literal["user", "cold_start", "segment"]


@dataclass(frozen=True)
class HybridEvidence:
    """Why the hybrid recommended one item to one user or segment.

    Args:
        contributions: ``(term, weight x scaled value)`` of each term that added to the score,
            largest first.
        level: ``"user"`` (personal terms), ``"cold_start"`` (too few events: population terms)
            or ``"segment"`` (recommended to a whole segment).
        because_items: The user's own items that point to this one most (collab terms).
        segment_id: The user's (or owner) segment, None when unknown.
        n_segment_users: Users of that segment who interacted with the item.
        n_recent: The item's time-decayed interaction count at "now".
        is_recent_at_last_visit: "Now" was the user's newest interaction (clock ``"user"``),
            not the newest interaction of all.
        n_interactions: All interactions with the item.
        diversity_penalty: How much MMR lowered the score for similarity to higher-ranked items.
    """

    contributions: tuple[tuple[str, float], ...]
    level: Level = "user"
    because_items: tuple[str, ...] = ()
    segment_id: str | None = None
    n_segment_users: int = 0
    n_recent: float = 0.0
    is_recent_at_last_visit: bool = False
    n_interactions: int = 0
    diversity_penalty: float = 0.0


Picks = tuple[list[list[str]], list[list[float]], list[list[HybridEvidence]]]
"""Per owner: recommended item ids, their scores and their evidence, best first."""


class EvidenceMixin:
    """Explain a fitted ``HybridRecommender``'s picks (mixed into it; reads its fitted state)."""

    def _explained(self, terms: HybridTerms, k: int, allowed: np.ndarray | None = None) -> Picks:
        """Rank and explain; items outside ``allowed`` (a catalogue mask) are never picked."""
        totals, cold = self.combine(terms), self.cold_mask(terms)
        if allowed is not None:
            totals[:, ~allowed] = -np.inf
        picks, reported = self._ranked(totals, k)
        recent = self._decayed(terms.rows, self.half_life_days, self.clock)
        in_segment = select_rows(self.segment_counts_, terms.segments).toarray()
        kept = [row_picks[np.isfinite(row_scores)]
                for row_picks, row_scores in zip(picks, reported, strict=True)]
        because_of = self._because(np.where(cold, -1, terms.rows), kept)
        ids, scores, evidence = [], [], []
        for n, (items, row_scores) in enumerate(zip(kept, reported, strict=True)):
            kept_scores = row_scores[np.isfinite(row_scores)]
            because = {name: lists[n] for name, lists in because_of.items()}
            ids.append([str(self.item_ids_[i]) for i in items])
            scores.append([float(s) for s in kept_scores])
            row_evidence = []
            for j, item in enumerate(items):
                parts = self._contributions(terms, n, int(item), bool(cold[n]))
                shares = dict(parts)
                collab = ("collab_positive" if shares.get("collab_positive", 0.0)
                          >= shares.get("collab", 0.0) else "collab")
                row_evidence.append(HybridEvidence(
                    contributions=parts,
                    level="cold_start" if cold[n] and terms.level == "user" else terms.level,
                    because_items=because[collab][j], segment_id=self._segment_label(terms, n),
                    n_segment_users=int(in_segment[n, item]), n_recent=float(recent[n, item]),
                    is_recent_at_last_visit=self.clock == "user" and terms.rows[n] >= 0,
                    n_interactions=int(self.popularity_[item]),
                    diversity_penalty=max(float(totals[n, item] - kept_scores[j]), 0.0)))
            evidence.append(row_evidence)
        return ids, scores, evidence

    def _segment_label(self, terms: HybridTerms, n: int) -> str | None:
        return str(self.segment_ids_[terms.segments[n]]) if terms.segments[n] >= 0 else None

    def _contributions(self, terms: HybridTerms, n: int, item: int,
                       is_cold: bool) -> tuple[tuple[str, float], ...]:
        """Return ``(term, weight x scaled value)`` of the terms that added to one score."""
        prefix = "cold_" if is_cold else ""
        weights = {name: getattr(self, prefix + name) for name in
                   (COLD_TERMS if is_cold else TERMS)}
        parts = [(name, float(weight * terms.values[self._key(name)][n, item]))
                 for name, weight in weights.items() if weight]
        return tuple(sorted((part for part in parts if part[1] > 0), key=lambda p: -p[1]))

    def _because(self, rows: np.ndarray, picks: list[np.ndarray],
                 ) -> dict[str, list[list[tuple[str, ...]]]]:
        """Return, per collab term, owner and pick, the owner's items pointing to the pick.

        Those are the owner's items with the largest positive EASE weight towards the pick; an
        owner without a fitted row (-1: cold start, segment) has none. The weights towards the
        picks of ``BECAUSE_BATCH`` owners are read in one product.
        """
        out: dict[str, list[list[tuple[str, ...]]]] = {"collab": [], "collab_positive": []}
        for start in range(0, len(rows), BECAUSE_BATCH):
            chunk = slice(start, start + BECAUSE_BATCH)
            batch_rows, batch_picks = rows[chunk], picks[chunk]
            targets = np.unique(np.concatenate([np.zeros(0, int), *batch_picks])).astype(int)
            for name, model, matrix in (("collab", self.ease_, self.matrix_),
                                        ("collab_positive", self.ease_positive_,
                                         self.positive_matrix_)):
                into = (model.weights_into(targets)
                        if model is not None and (batch_rows >= 0).any() else None)
                out[name] += [self._sources(into, targets, matrix, row, items)
                              for row, items in zip(batch_rows, batch_picks, strict=True)]
        return out

    def _sources(self, into: np.ndarray | None, targets: np.ndarray, matrix: sp.csr_matrix,
                 row: int, items: np.ndarray) -> list[tuple[str, ...]]:
        """Return, per pick, the owner's items with the largest positive weight into it."""
        sources = (matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
                   if row >= 0 and into is not None else [])
        if not len(sources):
            return [() for _ in items]
        weights = into[np.searchsorted(targets, items)][:, sources]
        best = np.argsort(-weights, axis=1, kind="stable")[:, :N_BECAUSE_ITEMS]
        return [tuple(str(self.item_ids_[sources[b]]) for b in best[j] if weights[j, b] > 0)
                for j in range(len(items))]
