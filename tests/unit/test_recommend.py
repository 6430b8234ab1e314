import numpy as np
import pytest

from interestlens.tools.collab_evidence import HybridEvidence
from interestlens.tools.errors import ConfigError
from interestlens.tools.recommend import (
    EVIDENCE_SEPARATOR,
    RECOMMENDATION_COLUMNS,
    rank_recommendations,
)

TEXTS = {"a": "Burr grinders for espresso at home", "b": "Milk frothing basics",
         "c": "Tea kettles compared", "d": "Cold brew ratio", "e": "Latte art"}


def rank(candidates, scores, *, seen=None, keywords=None, **options):
    return rank_recommendations(
        [f"u{i}" for i in range(len(candidates))], candidates, scores,
        seen=seen or {}, item_texts=TEXTS, user_keywords=keywords or {}, **options)


def test_seen_items_are_never_recommended_and_k_is_respected():
    out = rank([list("abcde"), list("edcba")], [[0.9, 0.8, 0.7, 0.6, 0.5]] * 2,
               seen={"u0": {"a", "c"}}, k=2)
    assert list(out.columns) == list(RECOMMENDATION_COLUMNS)
    assert out[out.user == "u0"]["item"].tolist() == ["b", "d"]
    assert out[out.user == "u1"]["item"].tolist() == ["e", "d"]
    assert out.groupby("user")["rank"].apply(list).tolist() == [[1, 2], [1, 2]]
    assert (out["reason_mode"] == "template").all()
    assert (out["level"] == "content").all() and out["evidence"].str.startswith("similarity").all()


def test_ranks_follow_descending_scores_and_duplicates_collapse():
    out = rank([["c", "a", "b", "a", "d"]], [[0.2, 0.9, 0.5, 0.1, 0.7]], k=5)
    assert out["item"].tolist() == ["a", "d", "b", "c"]
    assert out["rank"].tolist() == [1, 2, 3, 4]
    assert out["score"].is_monotonic_decreasing


def test_reason_cites_the_users_keywords_that_occur_in_the_item():
    out = rank([["a"]], [[0.71]], keywords={"u0": ["milk", "Espresso", "grinder"]})
    reason = out["reason"].iloc[0]
    assert reason.startswith('matches your interests "Espresso", "grinder" (similarity 0.71)')
    assert '"milk"' not in reason and "Burr grinders for espresso" in reason


@pytest.mark.parametrize("evidence", [None, HybridEvidence(contributions=(("segment", 0.5),))])
def test_a_blank_interest_is_never_cited(evidence):
    out = rank([["a"]], [[0.7]], keywords={"u0": ["", "  "]},
               evidence=None if evidence is None else [[evidence]])
    assert '""' not in out["reason"].iloc[0] and "interest: " not in out["evidence"].iloc[0]


def test_reason_without_overlap_says_closest_in_meaning():
    out = rank([["c"]], [[0.55]], keywords={"u0": ["espresso", "grinder", "milk", "latte"]})
    reason = out["reason"].iloc[0]
    assert reason.startswith("closest in meaning")
    assert '"espresso", "grinder", "milk"' in reason and '"latte"' not in reason


def test_short_latin_keyword_matches_whole_words_only():
    out = rank_recommendations(["u"], [["x"]], [[0.5]], seen={},
                               item_texts={"x": "He said nothing about the AI"},
                               user_keywords={"u": ["ai"]})
    assert out["reason"].iloc[0].startswith('matches your interests "ai"')
    out = rank_recommendations(["u"], [["x"]], [[0.5]], seen={},
                               item_texts={"x": "He said nothing"}, user_keywords={"u": ["ai"]})
    assert out["reason"].iloc[0].startswith("closest in meaning")


def test_chinese_item_gets_chinese_reason_with_substring_match():
    out = rank_recommendations(["u"], [["x"]], [[0.66]], seen={},
                               item_texts={"x": "这款手机屏幕很清晰，电池也耐用"},
                               user_keywords={"u": ["屏幕", "相机"]})
    reason = out["reason"].iloc[0]
    assert reason.startswith("与你的兴趣“屏幕”相符（相似度 0.66）")
    assert "相机" not in reason and "这款手机屏幕" in reason


def test_mmr_diversity_replaces_a_near_duplicate():
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([0.99, 0.05]),
               "c": np.array([0.0, 1.0])}
    plain = rank([["a", "b", "c"]], [[0.90, 0.89, 0.80]], k=2, candidate_vectors=vectors)
    diverse = rank([["a", "b", "c"]], [[0.90, 0.89, 0.80]], k=2, diversity=0.5,
                   candidate_vectors=vectors)
    assert plain["item"].tolist() == ["a", "b"]
    assert diverse["item"].tolist() == ["a", "c"]
    assert diverse["score"].tolist() == [0.90, 0.80]


def test_user_without_candidates_gets_no_rows_and_bad_options_raise():
    out = rank([[]], [[]])
    assert out.empty and list(out.columns) == list(RECOMMENDATION_COLUMNS)
    with pytest.raises(ConfigError, match="k >= 1"):
        rank([["a"]], [[0.5]], k=0)
    with pytest.raises(ConfigError, match="diversity"):
        rank([["a"]], [[0.5]], diversity=1.5)


@pytest.mark.parametrize("score", [0.0, -0.2])
def test_no_closeness_is_claimed_at_or_below_zero_similarity(score):
    with_interests = rank([["c"]], [[score]], keywords={"u0": ["espresso"]})["reason"].iloc[0]
    assert with_interests.startswith('a weak match to your interests "espresso" (similarity')
    without = rank([["c"]], [[score]])["reason"].iloc[0]
    assert without.startswith("a weak match to what you interacted with (similarity")
    assert "closest" not in with_interests + without and "similar to" not in without
    overlap = rank([["a"]], [[score]], keywords={"u0": ["espresso"]})["reason"].iloc[0]
    assert overlap.startswith('matches your interests "espresso"')  # the word is in the item


HYBRID_TEXTS = {"m1": "Toy Story (1995) | Animation | tags: pixar", "m2": "Up (2009) | Animation",
                "m3": "Heat (1995) | Crime", "m4": "Alien (1979) | Horror, Sci-Fi"}


def hybrid_rank(evidence, *, keywords=None, k=5):
    ids = [[item for item, _ in row] for row in evidence]
    return rank_recommendations(
        [f"u{n}" for n in range(len(evidence))], ids,
        [[0.9 - 0.1 * i for i in range(len(row))] for row in evidence], seen={},
        item_texts=HYBRID_TEXTS, user_keywords=keywords or {}, k=k,
        evidence=[[note for _, note in row] for row in evidence])


def test_hybrid_reason_cites_the_users_own_items_and_interests():
    note = HybridEvidence(contributions=(("collab_positive", 0.8), ("collab", 0.5),
                                         ("segment", 0.3)),
                          because_items=("m1", "m3"), segment_id="S3", n_segment_users=7,
                          n_interactions=40, n_recent=2.5)
    out = hybrid_rank([[("m2", note)]], keywords={"u0": ["animation", "space"]})
    reason = out["reason"].iloc[0]
    assert reason.startswith('users who liked "Toy Story (1995)", "Heat (1995)" also liked it; '
                             'popular in your segment S3 (7 users there); '
                             'matches your interests "animation" (score 0.90): "Up (2009)')
    assert "engaged with" not in reason  # the two collab terms count as one driver
    evidence = out["evidence"].iloc[0].split(EVIDENCE_SEPARATOR)
    assert evidence[:3] == ["collab_positive 0.80", "collab 0.50", "segment 0.30"]
    assert "because of: Toy Story (1995)" in evidence and "segment S3: 7 users" in evidence


def test_hybrid_reason_drops_weak_terms_and_labels_cold_start():
    weak = HybridEvidence(contributions=(("recency", 1.0), ("popularity", 0.1)), n_recent=3.25)
    cold = HybridEvidence(contributions=(("segment", 1.0),), level="cold_start",
                          segment_id="S2", n_segment_users=4)
    out = hybrid_rank([[("m4", weak)], [("m3", cold)]])
    assert out["reason"].iloc[0].startswith("trending now (3.2 recent interactions) (score")
    assert out["reason"].iloc[1].startswith(
        "you have few events yet, so: popular in your segment S2 (4 users there)")
    assert out["evidence"].iloc[1].endswith("cold start")
    assert out["level"].tolist() == ["user", "cold_start"]


def test_hybrid_order_and_scores_are_kept():
    notes = [(item, HybridEvidence(contributions=(("collab", 1.0),))) for item in ("m3", "m1")]
    out = hybrid_rank([notes])
    assert out["item"].tolist() == ["m3", "m1"] and out["score"].is_monotonic_decreasing
    assert out["reason"].iloc[0].startswith("popular with users like you")


def test_recency_at_the_users_last_visit_says_so():
    note = HybridEvidence(contributions=(("recency", 1.0),), n_recent=2.0,
                          is_recent_at_last_visit=True)
    out = hybrid_rank([[("m1", note)]])
    assert out["reason"].iloc[0].startswith("trending when you were last active (2.0 recent")


def test_counts_of_one_are_singular_and_segment_evidence_has_no_stray_word():
    note = HybridEvidence(contributions=(("segment", 1.0),), level="segment", segment_id="S3",
                          n_segment_users=1, n_interactions=1)
    out = hybrid_rank([[("m2", note)]])
    assert out["reason"].iloc[0].startswith("popular in segment S3 (1 user) (score")
    evidence = out["evidence"].iloc[0].split(EVIDENCE_SEPARATOR)
    assert evidence[1:] == ["segment S3: 1 user", "1 interaction, 0.0 recent",
                            "for the whole segment"]


def test_popularity_is_not_claimed_without_interactions():
    unused = HybridEvidence(contributions=(), n_interactions=0)
    out = hybrid_rank([[("m3", unused)]])
    assert out["reason"].iloc[0].startswith("new: no one has interacted with it yet (score")
    assert "0 interactions" in out["evidence"].iloc[0]  # the count stays in the evidence
    used = HybridEvidence(contributions=(("popularity", 1.0),), n_interactions=12)
    assert hybrid_rank([[("m3", used)]])["reason"].iloc[0].startswith(
        "popular overall (12 interactions)")


def test_hybrid_content_pick_with_a_negative_score_is_not_called_close():
    note = HybridEvidence(contributions=(("content", 0.4),))
    out = rank_recommendations(["u0"], [["m2"]], [[-0.1]], seen={}, item_texts=HYBRID_TEXTS,
                               user_keywords={}, evidence=[[note]])
    assert out["reason"].iloc[0].startswith("a weak match to what you engaged with (score -0.10)")
