"""Gather the measured evidence about each segment and each user's top interests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from interestlens.tools.records import (
    EVENT_TYPE,
    LANGUAGE,
    SENTIMENT,
    TEXT,
    USER,
    Segment,
    SegmentEvidence,
)

SEGMENT = "segment"
MAX_REPRESENTATIVE_CHARS = 300


def segment_evidence(
    events: pd.DataFrame,
    event_vectors: np.ndarray,
    segment_table: pd.DataFrame,
    centroids: np.ndarray,
    keywords: Mapping[str, Sequence[str]],
    *,
    n_total_users: int,
    n_representative: int = 3,
) -> list[SegmentEvidence]:
    """Return one ``SegmentEvidence`` per row of ``segment_table``.

    Args:
        events: Kept events with ``LANGUAGE``, ``SENTIMENT`` and a ``segment`` column (the segment
            of the event's user).
        event_vectors: One row per event, in the space of ``centroids``.
        segment_table: Columns ``segment_id, cluster_id, n_users, mean_confidence``; row i
            matches ``centroids[i]``.
        centroids: Unit-length segment centroids.
        keywords: Distinct keywords per segment id, most characteristic first.
        n_total_users: All users of the run, for the share.
        n_representative: How many texts closest to the centroid to quote.
    """
    by_segment = events.groupby(SEGMENT, sort=False).indices
    evidence = []
    for position, row in enumerate(segment_table.itertuples(index=False)):
        rows = by_segment.get(row.segment_id, np.array([], dtype=int))
        part = events.iloc[rows]
        evidence.append(SegmentEvidence(
            segment_id=row.segment_id,
            cluster_id=int(row.cluster_id),
            n_users=int(row.n_users),
            share=row.n_users / max(n_total_users, 1),
            n_events=len(rows),
            keywords=tuple(keywords.get(row.segment_id, ())),
            sentiment=float(part[SENTIMENT].mean()) if len(part) else 0.0,
            top_event_types=tuple(part[EVENT_TYPE].value_counts().index[:3]),
            representative_texts=_representative_texts(
                part[TEXT].to_numpy(), event_vectors[rows], centroids[position], n_representative
            ),
            mean_confidence=float(row.mean_confidence),
            language=part[LANGUAGE].mode().iat[0] if len(part) else "en",
        ))
    return evidence


def _representative_texts(
    texts: np.ndarray, vectors: np.ndarray, centroid: np.ndarray, n: int
) -> tuple[str, ...]:
    """Return up to ``n`` distinct texts whose vectors are closest to ``centroid``."""
    if len(texts) == 0:
        return ()
    order = np.argsort(-(vectors @ centroid), kind="stable")
    chosen: list[str] = []
    for index in order:
        text = str(texts[index]).strip()[:MAX_REPRESENTATIVE_CHARS]
        if text and text not in chosen:
            chosen.append(text)
        if len(chosen) == n:
            break
    return tuple(chosen)


def user_interests(
    events: pd.DataFrame,
    tokens: Sequence[Sequence[str]],
    keywords: Mapping[str, Sequence[str]],
    *,
    n_interests: int = 3,
) -> dict[str, list[str]]:
    """Return each user's top interests: segment keywords they use most, then their own words.

    ``events`` needs ``USER`` and ``segment`` columns; ``tokens`` aligns with its rows.
    """
    counts: dict[str, Counter] = {}
    for user, words in zip(events[USER].to_numpy(), tokens):
        counts.setdefault(user, Counter()).update(words)
    segment_of = dict(zip(events[USER].to_numpy(), events[SEGMENT].to_numpy()))
    interests = {}
    for user, counter in counts.items():
        segment_words = keywords.get(segment_of[user], ())
        shared = sorted((w for w in segment_words if counter[w]), key=lambda w: -counter[w])
        own = [w for w, _ in counter.most_common(n_interests * 2) if w not in shared]
        interests[user] = (shared + own)[:n_interests]
    return interests


class SegmentComparison(BaseModel):
    """How two segments differ: sizes, sentiment, shared and distinct keywords."""

    model_config = ConfigDict(frozen=True)
    a: Segment
    b: Segment
    shared_keywords: tuple[str, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    size_ratio: float  # a.n_users / b.n_users
    sentiment_gap: float  # a.sentiment - b.sentiment


def compare_segments(a: Segment, b: Segment) -> SegmentComparison:
    """Compare two segments by their keywords, sizes and sentiment."""
    keywords_b = set(b.keywords)
    return SegmentComparison(
        a=a, b=b,
        shared_keywords=tuple(w for w in a.keywords if w in keywords_b),
        only_a=tuple(w for w in a.keywords if w not in keywords_b),
        only_b=tuple(w for w in b.keywords if w not in set(a.keywords)),
        size_ratio=a.n_users / max(b.n_users, 1),
        sentiment_gap=a.sentiment - b.sentiment,
    )
