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

    def _explained(self, terms: HybridTerms, k: int, allowed: np.ndarray | None = None) -> Picks:
        """Rank and explain; items outside ``allowed`` (a catalogue mask) are never picked."""
        totals, cold = self.combine(terms), self.cold_mask(terms)
        if allowed is not None:
            totals[:, ~allowed] = -np.inf
        picks, reported = self._ranked(totals, k)
        recent = self._decayed(terms.rows, self.half_life_days, self.clock)
        in_segment = select_rows(self.segment_counts_, terms.segments).toarray()
        rows = np.where(cold, -1, terms.rows)
        ids, scores, evidence = [], [], []
        for n, (row_picks, row_scores) in enumerate(zip(picks, reported, strict=True)):
            found = np.isfinite(row_scores)
            items, kept_scores = row_picks[found], row_scores[found]
            ids.append([str(self.item_ids_[i]) for i in items])
            scores.append([float(s) for s in kept_scores])
            parts = self._contributions(terms, n, items, bool(cold[n]))
            because = self._because(int(rows[n]), items, [_cited_collab(p) for p in parts])
            evidence.append([HybridEvidence(
                contributions=parts[j],
                level="cold_start" if cold[n] and terms.level == "user" else terms.level,
                because_items=because[j], segment_id=self._segment_label(terms, n),
                n_segment_users=int(in_segment[n, item]), n_recent=float(recent[n, item]),
                is_recent_at_last_visit=self.clock == "user" and terms.rows[n] >= 0,
                n_interactions=int(self.popularity_[item]),
                diversity_penalty=max(float(totals[n, item] - kept_scores[j]), 0.0))
                for j, item in enumerate(items)])
        return ids, scores, evidence

    def _segment_label(self, terms: HybridTerms, n: int) -> str | None:
        return str(self.segment_ids_[terms.segments[n]]) if terms.segments[n] >= 0 else None

    def _contributions(self, terms: HybridTerms, n: int, items: np.ndarray,
                       is_cold: bool) -> list[tuple[tuple[str, float], ...]]:
        """Return, per item, ``(term, weight x scaled value)`` of the terms that added to its score.

        The terms come largest first; each term's values for the owner's items are read at once.
        """
        prefix = "cold_" if is_cold else ""
        weighted = [(name, (getattr(self, prefix + name)
                            * terms.values[self._key(name)][n, items]).tolist())
                    for name in (COLD_TERMS if is_cold else TERMS) if getattr(self, prefix + name)]
        return [tuple(sorted(((name, values[j]) for name, values in weighted if values[j] > 0),
                             key=lambda p: -p[1]))
                for j in range(len(items))]

    def _because(self, row: int, items: np.ndarray, cited: list[str]) -> list[tuple[str, ...]]:
        """Return, per pick, the owner's items pointing to it most through its ``cited`` term.

        Those are the owner's items with the largest positive EASE weight towards the pick, read
        from the model of the cited collab term; an owner without a fitted row (-1: cold start,
        segment) has none.
        """
        out: list[tuple[str, ...]] = [() for _ in items]
        for name, model, matrix in (("collab", self.ease_, self.matrix_),
                                    ("collab_positive", self.ease_positive_,
                                     self.positive_matrix_)):
            picks = [j for j, term in enumerate(cited) if term == name]
            sources = (matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
                       if row >= 0 and model is not None and picks else [])
            if not len(sources):
                continue
            weights = model.weights_between(sources, items[picks]).T
            best = np.argsort(-weights, axis=1, kind="stable")[:, :N_BECAUSE_ITEMS]
            for j, order, values in zip(picks, best, weights, strict=True):
                out[j] = tuple(str(self.item_ids_[sources[b]]) for b in order if values[b] > 0)
        return out


def _cited_collab(contributions: tuple[tuple[str, float], ...]) -> str:
    """Return the collab term whose EASE model a pick's "because of" items come from."""
    shares = dict(contributions)
    return ("collab_positive" if shares.get("collab_positive", 0.0) >= shares.get("collab", 0.0)
            else "collab")
