"""Tests of the recommender evaluation protocol, metrics and models on tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from benchmarks.recsys_eval import (
    RecData,
    catalogue_coverage,
    content_scores,
    intra_list_diversity,
    item_knn_weights,
    load_movielens_data,
    load_stackexchange_data,
    lsa_item_vectors,
    popularity_counts,
    ranking_metrics,
    segment_popularity,
    segments_from_table,
    temporal_split,
    top_k,
    training_interactions,
)
from benchmarks.recsys_product import product_events, product_lists
from interestlens.tools.interactions import INTERACTION_COLUMNS, carve_validation

DAY = 86_400.0


def make_data(events, notes=(), n_items=6, texts=None) -> RecData:
    """Events are (user, item, time, is_target); notes are (user, item, time, text)."""
    features = sp.csr_matrix(np.eye(n_items)[:, :3] + np.eye(n_items)[:, 3:6][:, :3])
    return RecData(
        name="tiny",
        events=pd.DataFrame(events, columns=["user", "item", "time", "is_target"]),
        notes=pd.DataFrame(list(notes), columns=["user", "item", "time", "text"]),
        item_ids=np.array([f"i{n}" for n in range(n_items)], dtype=object),
        item_text=np.array(texts or [f"movie {n}" for n in range(n_items)], dtype=object),
        item_features=features)


# ---- protocol ----------------------------------------------------------------------------------


def test_split_keeps_the_oldest_80_percent_and_targets_the_rest():
    data = make_data([("a", item, t, item != 3) for item, t in
                      [(4, 5.0), (0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)]])
    split = temporal_split(data)
    assert sorted(split.train[0].indices) == [0, 1, 2, 3]
    assert split.targets[0].tolist() == [4]
    assert split.split_time[0] == 5.0


def test_a_non_target_or_already_seen_test_item_is_no_positive():
    data = make_data([("a", 0, 1.0, True), ("a", 1, 2.0, True), ("a", 2, 3.0, True),
                      ("a", 3, 4.0, True), ("a", 0, 5.0, True),
                      ("b", 0, 1.0, True), ("b", 5, 2.0, False)])
    split = temporal_split(data)
    assert [len(t) for t in split.targets] == [0, 0]
    assert split.eval_rows.tolist() == []


def test_a_single_interaction_trains_and_its_user_is_skipped():
    split = temporal_split(make_data([("a", 0, 1.0, True), ("b", 1, 1.0, True),
                                      ("b", 2, 2.0, True)]))
    assert split.train[0].indices.tolist() == [0]
    assert np.isinf(split.split_time[0])
    assert split.eval_rows.tolist() == [1]


def test_notes_count_only_before_their_writers_split_time():
    events = [("a", item, float(item + 1), True) for item in range(5)]
    notes = [("a", 1, 2.0, "early-tag"), ("a", 2, 5.0, "late-tag"), ("z", 3, 99.0, "lurker")]
    split = temporal_split(make_data(events, notes))
    assert "early-tag" in split.item_text[1]
    assert not any("late-tag" in text for text in split.item_text)
    assert "lurker" in split.item_text[3]  # a writer with no interactions has no split time


def test_training_interactions_feed_the_product_and_its_validation_split():
    events = [("a", i, float(i), i % 2 == 0) for i in range(10)] + [("b", i, float(i), True)
                                                                   for i in range(5)]
    outer = temporal_split(make_data(events, n_items=10))
    table = training_interactions(outer)
    assert list(table.columns) == list(INTERACTION_COLUMNS)
    assert len(table) == 8 + 4 and table["item"].iloc[0] == "i0"
    assert table["is_positive"].tolist()[:4] == [True, False, True, False]
    inner, targets = carve_validation(table)
    assert sorted(inner[inner["user"] == "a"]["item"]) == [f"i{n}" for n in range(6)]
    assert {user: t.tolist() for user, t in targets.items()} == {"a": ["i6"], "b": ["i3"]}


def test_product_lists_map_item_ids_to_catalogue_indices():
    split = temporal_split(make_data([("a", 0, 1.0, True), ("b", 1, 1.0, True)]))
    frame = pd.DataFrame({"user": ["b", "a", "a"], "rank": [1, 2, 1],
                          "item": ["i5", "i2", "nope"]})
    assert product_lists(frame, split, np.array([0, 1]), 3).tolist() == [[-1, 2, -1],
                                                                         [5, -1, -1]]


def test_lsa_item_vectors_are_unit_rows():
    vectors = lsa_item_vectors(["space opera film", "space war film", "romantic comedy film",
                                "romantic drama film"], n_components=2)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


# ---- metrics -----------------------------------------------------------------------------------


def test_ranking_metrics_on_one_hit_at_rank_two():
    scores = ranking_metrics(np.array([[1, 2, 3], [7, 8, 9]]), [np.array([2, 5]), np.array([])])
    discount = 1 / np.log2(3)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 2)
    assert scores["ndcg"] == pytest.approx(discount / (1 + discount))


def test_ndcg_ideal_dcg_stops_at_k():
    scores = ranking_metrics(np.array([[0, 1]]), [np.arange(5)])
    assert scores["ndcg"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(2 / 5)


def test_coverage_counts_distinct_recommended_items():
    assert catalogue_coverage(np.array([[0, 1], [1, 2], [2, -1]]), 10) == pytest.approx(0.3)


def test_intra_list_diversity_uses_feature_cosine():
    features = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 0], [1, 1]], dtype=float))
    assert intra_list_diversity(np.array([[0, 1]]), features) == pytest.approx(0.0)
    assert intra_list_diversity(np.array([[0, 2]]), features) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 3]]), features) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 4]]), features) == pytest.approx(1 - 2 ** -0.5)
    assert intra_list_diversity(np.array([[0, 2, -1], [1, -1, -1]]), features) == 1.0


def test_top_k_skips_seen_items_and_breaks_ties_by_index():
    scores = np.array([[5.0, 1.0, 3.0, 3.0, 0.0]])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]]))
    assert top_k(scores, seen, k=3).tolist() == [[2, 3, 1]]


# ---- baselines ---------------------------------------------------------------------------------


def test_popularity_counts_all_or_positive_training_interactions():
    split = temporal_split(make_data([("a", 0, 1.0, True), ("b", 0, 1.0, False),
                                      ("c", 1, 1.0, True)]))
    assert popularity_counts(split)[:3].tolist() == [2, 1, 0]
    assert popularity_counts(split, targets_only=True)[:3].tolist() == [1, 1, 0]


def test_segment_popularity_counts_within_the_users_segment():
    split = temporal_split(make_data([("a", 0, 1.0, True), ("b", 0, 1.0, True),
                                      ("c", 1, 1.0, True), ("c", 2, 1.0, True)]))
    labels = segments_from_table({"a": "x", "b": "x"})(split)
    assert labels.tolist() == ["x", "x", "unassigned"]
    counts = segment_popularity(split, labels)
    assert counts[0, :3].tolist() == [2, 0, 0]
    assert counts[2, :3].tolist() == [0, 1, 0]  # c's newer interaction is a test one


def test_item_knn_keeps_the_nearest_neighbours_without_self():
    x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1]], float))
    weights = item_knn_weights(x, n_neighbours=1, block=2).toarray()
    assert np.all(np.diag(weights) == 0)
    assert (weights > 0).sum(axis=1).tolist() == [1, 1, 1]
    assert weights[1, 0] == pytest.approx(2 / (np.sqrt(3) * np.sqrt(2)))


def test_content_scores_are_cosines_to_the_users_mean_item():
    vectors = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [1, 1]], float) / [[1], [1], [1],
                                                                               [np.sqrt(2)]])
    scores = content_scores(sp.csr_matrix(np.array([[1, 0, 0, 0]], float)), vectors)
    np.testing.assert_allclose(scores, [[1, 1, 0, 2 ** -0.5]])


# ---- shared data -------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_movielens_positives_are_later_ratings_of_four_or_more(shared_data):
    data = load_movielens_data(shared_data / "movielens_latest_small")
    split = temporal_split(data)
    assert len(split.users) == 610 and len(data.item_ids) == 9742
    ratings = pd.read_csv(shared_data / "movielens_latest_small" / "ratings.csv")
    first = split.users.tolist().index("1")
    liked = ratings[(ratings["userId"] == 1) & (ratings["rating"] >= 4)]
    later = liked[liked["timestamp"] >= split.split_time[first]]
    ids = set(data.item_ids[split.targets[first]].astype(int))
    assert ids and ids <= set(later["movieId"])


@pytest.mark.shared_data
def test_stackexchange_items_are_questions_with_tag_features(shared_data):
    data = load_stackexchange_data(shared_data / "stackexchange_small_sites" / "beer")
    assert len(data.item_ids) == 1029
    assert data.item_features.shape[0] == 1029 and data.item_features.sum() > 1029
    assert set(data.events["is_target"]) == {True, False}


@pytest.mark.shared_data
def test_product_events_hold_no_test_interaction_nor_late_tag(shared_data):
    folder = shared_data / "movielens_latest_small"
    split = temporal_split(load_movielens_data(folder))
    events = product_events(folder, split)
    rows = pd.Series(np.arange(len(split.users)), index=split.users)[events["user_id"]]
    seconds = (events["timestamp"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    is_tag = (events["event_type"] == "tagged").to_numpy()
    assert (~is_tag).sum() == len(split.train_events)
    assert (seconds.to_numpy() < split.split_time[rows.to_numpy()])[is_tag].all()
    assert (seconds.to_numpy() <= split.split_time[rows.to_numpy()]).all()
