"""Per-user and per-segment extras of a run: zero-shot interest labels and LDA topic shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from interestlens.agent.encoder import FusedEncoder
from interestlens.tools.clean import detect_language
from interestlens.tools.features import mean_by_group
from interestlens.tools.profile import Profiles
from interestlens.tools.records import Segment
from interestlens.tools.segment import ProfileSegmenter
from interestlens.tools.zeroshot import ZeroShotLabeler, label_terms, top_labels
from interestlens.vectorstore import Store

N_LABELS = 3  # labels kept per user and per segment


def label_interests(labels: Sequence[str], encoder: FusedEncoder, store: Store,
                    profiles: Profiles, segmenter: ProfileSegmenter, segment_ids: np.ndarray,
                    users: pd.DataFrame, segments: list[Segment]
                    ) -> tuple[pd.DataFrame, list[Segment]]:
    """Score every user and segment against ``labels``; return the users and segments with them.

    Users get ``top_label`` and ``label_scores`` (``"咖啡=0.812;茶=0.104"``, best first);
    segments get ``interest_labels``. Labels are embedded by the run's own encoder, each with
    only the lexical terms no other label shares (``label_terms``).
    """
    labels = list(labels)
    languages = [detect_language(label) for label in labels]
    label_vectors, _ = encoder.encode(labels, store, terms=label_terms(labels, languages))
    labeler = ZeroShotLabeler().fit(profiles.matrix, label_vectors)
    per_user = top_labels(labeler.score(profiles.matrix), labels, N_LABELS)
    per_centroid = top_labels(labeler.score(segmenter.centroids_), labels, N_LABELS)
    by_segment = dict(zip(segment_ids.tolist(), per_centroid))
    users = users.assign(
        top_label=[best[0].label for best in per_user],
        label_scores=[";".join(f"{item.label}={item.score:.3f}" for item in best)
                      for best in per_user],
    )
    segments = [s.model_copy(update={"interest_labels": by_segment.get(s.segment_id, ())})
                for s in segments]
    return users, segments


def topic_table(event_users: np.ndarray, event_topics: np.ndarray,
                users: pd.DataFrame) -> pd.DataFrame:
    """Return each user's LDA topic distribution beside their segment (the embedding topic).

    Columns: ``user, segment, top_topic, topic_0 … topic_{k-1}``; topic numbers index the run
    summary's ``topics`` (the top words of each LDA topic).
    """
    shares = mean_by_group(event_topics, event_users.astype(str),
                           users["user"].astype(str).tolist())
    table = pd.DataFrame(np.round(shares, 4),
                         columns=[f"topic_{i}" for i in range(shares.shape[1])])
    table.insert(0, "top_topic", shares.argmax(axis=1))
    table.insert(0, "segment", users["segment"].to_numpy())
    table.insert(0, "user", users["user"].to_numpy())
    return table
