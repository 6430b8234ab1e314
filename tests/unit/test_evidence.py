import numpy as np
import pandas as pd

from interestlens.tools.evidence import (
    SEGMENT,
    compare_segments,
    segment_evidence,
    user_interests,
)
from interestlens.tools.records import Segment


def events_frame():
    return pd.DataFrame({
        "user": ["u1", "u1", "u2", "u3", "u3"],
        "event_type": ["review", "review", "comment", "question", "question"],
        "text": ["espresso grinder", "espresso beans", "grinder burr", "trail boots", "tent"],
        "language": ["en"] * 5,
        "sentiment": [0.5, 0.7, -0.1, -0.8, -0.2],
        SEGMENT: ["S1", "S1", "S1", "S2", "S2"],
    })


def test_segment_evidence_measures_each_segment():
    vectors = np.array([[1, 0], [0.9, 0.1], [0.6, 0.8], [0, 1], [0.1, 0.9]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = pd.DataFrame({"segment_id": ["S1", "S2"], "cluster_id": [0, 1], "n_users": [2, 1],
                          "mean_confidence": [0.9, 0.4]})
    evidence = segment_evidence(events_frame(), vectors, table, np.array([[1, 0], [0, 1]]),
                                {"S1": ["espresso"], "S2": ["trail"]}, n_total_users=4,
                                n_representative=2)
    first, second = evidence
    assert (first.n_users, first.n_events, first.share) == (2, 3, 0.5)
    assert first.representative_texts == ("espresso grinder", "espresso beans")
    assert abs(first.sentiment - np.mean([0.5, 0.7, -0.1])) < 1e-6
    assert first.top_event_types[0] == "review"
    assert second.keywords == ("trail",) and second.sentiment < 0
    assert second.mean_confidence == 0.4


def test_user_interests_prefer_segment_keywords_the_user_uses():
    events = events_frame()
    tokens = [t.split() for t in events["text"]]
    interests = user_interests(events, tokens, {"S1": ["grinder", "espresso"], "S2": ["tent"]},
                               n_interests=2)
    assert interests["u1"] == ["espresso", "grinder"]
    assert interests["u3"][0] == "tent"


def segment(segment_id, keywords, n_users, sentiment):
    return Segment(segment_id=segment_id, cluster_id=0, name=segment_id, description="",
                   naming_mode="extractive", n_users=n_users, share=0.1, n_events=n_users,
                   keywords=tuple(keywords), sentiment=sentiment)


def test_compare_segments_splits_keywords():
    result = compare_segments(segment("S1", ["a", "b", "c"], 10, 0.5),
                              segment("S2", ["b", "d"], 5, -0.5))
    assert result.shared_keywords == ("b",)
    assert result.only_a == ("a", "c") and result.only_b == ("d",)
    assert result.size_ratio == 2.0 and result.sentiment_gap == 1.0
