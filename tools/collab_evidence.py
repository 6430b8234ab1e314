"""Evidence of the hybrid recommender: why each item was recommended, for the reasons to cite.

``EvidenceMixin`` gives ``HybridRecommender`` its explaining step: for each pick, how much each
term added, the user's own items that point to it most (EASE weights), the user's segment and how
many of its users took the item, and the item's recent and overall interaction counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from interestlens.tools.interactions import select_rows

if TYPE_CHECKING:
    from interestlens.tools.collab import HybridTerms

TERMS: tuple[str, ...] = ("collab", "collab_positive", "content", "segment", "recency",
                          "popularity")
COLD_TERMS: tuple[str, ...] = ("segment", "recency", "popularity")  # the population terms
N_BECAUSE_ITEMS = 2
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

    def _explained(self, terms: HybridTerms, k: int) -> Picks:
        totals, cold = self.combine(terms), self.cold_mask(terms)
        picks, reported = self._ranked(totals, k)
        recent = self._decayed(terms.rows, self.half_life_days, self.clock)
        in_segment = select_rows(self.segment_counts_, terms.segments).toarray()
        ids, scores, evidence = [], [], []
        for n, (row_picks, row_scores) in enumerate(zip(picks, reported, strict=True)):
            keep = np.isfinite(row_scores)
            items, kept_scores = row_picks[keep], row_scores[keep]
            because = self._because(-1 if cold[n] else int(terms.rows[n]), items)
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

    def _because(self, row: int, items: np.ndarray) -> dict[str, list[tuple[str, ...]]]:
        """Return, per collab term and for each of ``items``, the user's items pointing to it.

        Those are the user's items with the largest positive EASE weight towards the pick; a user
        without interactions has none.
        """
        out = {}
        for name, model, matrix in (("collab", self.ease_, self.matrix_),
                                    ("collab_positive", self.ease_positive_,
                                     self.positive_matrix_)):
            sources = matrix[row].indices if row >= 0 and model is not None else np.zeros(0, int)
            weights = (model.weights_between(sources, items) if len(sources)
                       else np.zeros((0, len(items))))
            best = np.argsort(-weights, axis=0, kind="stable")[:N_BECAUSE_ITEMS]
            out[name] = [tuple(str(self.item_ids_[sources[b]]) for b in best[:, j]
                               if weights[b, j] > 0) for j in range(len(items))]
        return out
