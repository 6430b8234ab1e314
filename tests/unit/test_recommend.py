import numpy as np
import pandas as pd
import pytest

from interestlens.tools.errors import ConfigError
from interestlens.tools.recommend import (
    CATALOGUE_COLUMNS,
    RECOMMENDATION_COLUMNS,
    build_item_catalogue,
    rank_recommendations,
    seen_items,
)
from interestlens.tools.records import EVENT_ID, ITEM_ID, ITEM_TEXT, TEXT, USER


def events(rows):
    return pd.DataFrame(rows, columns=[EVENT_ID, USER, TEXT, ITEM_ID, ITEM_TEXT])


ITEM_EVENTS = events([
    ("e1", "u1", "great espresso", "i1", "Espresso machine"),
    ("e2", "u2", "too loud", "i1", None),
    ("e3", "u2", "fresh beans", "i2", None),
    ("e4", "u3", "smells nice", "i2", ""),
    ("e5", "u3", "no item here", None, None),
])


def test_catalogue_from_item_ids_uses_item_text_or_joined_event_texts():
    catalogue = build_item_catalogue(ITEM_EVENTS)
    assert list(catalogue.columns) == list(CATALOGUE_COLUMNS)
    assert catalogue["item_id"].tolist() == ["i1", "i2"]
    assert catalogue["item_text"].tolist() == ["Espresso machine", "fresh beans / smells nice"]
    assert catalogue["n_events"].tolist() == [2, 2]
    assert not catalogue["is_event_item"].any()


def test_long_joined_item_text_is_truncated():
    rows = [(f"e{i}", "u", "word " * 100, "i1", None) for i in range(3)]
    text = build_item_catalogue(events(rows))["item_text"].iloc[0]
    assert len(text) <= 500 and text.endswith("…")


@pytest.mark.parametrize("drop_item_column", [False, True])
def test_without_item_ids_the_events_are_the_items(drop_item_column):
    frame = events([("e1", "u1", "手机很好", None, None), ("e2", "u2", "screen broke", None, None),
                    ("e1", "u1", "手机很好", None, None)])
    if drop_item_column:
        frame = frame.drop(columns=[ITEM_ID, ITEM_TEXT])
    catalogue = build_item_catalogue(frame)
    assert catalogue["item_id"].tolist() == ["e1", "e2"]
    assert catalogue["item_text"].tolist() == ["手机很好", "screen broke"]
    assert catalogue["is_event_item"].all()
    assert seen_items(frame, catalogue) == {"u1": {"e1"}, "u2": {"e2"}}


def test_seen_items_in_item_mode_lists_each_users_items():
    seen = seen_items(ITEM_EVENTS, build_item_catalogue(ITEM_EVENTS))
    assert seen == {"u1": {"i1"}, "u2": {"i1", "i2"}, "u3": {"i2"}}


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
