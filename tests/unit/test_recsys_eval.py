"""Tests of the recommender evaluation protocol, metrics and models on tiny hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from benchmarks.recsys_eval import (
    HybridWeights,
    RecData,
    catalogue_coverage,
    content_scores,
    ease_scores,
    ease_weights,
    fit_hybrid,
    intra_list_diversity,
    item_knn_weights,
    load_movielens_data,
    load_stackexchange_data,
    mmr_rerank,
    popularity_counts,
    ranking_metrics,
    recommend_hybrid,
    scale_rows,
    segment_popularity,
    segments_from_table,
    temporal_split,
    time_decayed_popularity,
    top_k,
    training_data,
)

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


def test_the_validation_split_only_uses_training_interactions():
    events = [("a", i, float(i), True) for i in range(10)] + [("b", i, float(i), True)
                                                              for i in range(5)]
    outer = temporal_split(make_data(events, n_items=10))
    inner = temporal_split(training_data(outer))
    assert [t.tolist() for t in outer.targets] == [[8, 9], [4]]
    assert [sorted(inner.train[r].indices) for r in range(2)] == [list(range(6)), [0, 1, 2]]
    assert [t.tolist() for t in inner.targets] == [[6, 7], [3]]
    assert inner.split_time.tolist() == [6.0, 3.0]


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
    assert catalogue_coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)


def test_intra_list_diversity_uses_feature_cosine():
    features = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 0], [1, 1]], dtype=float))
    assert intra_list_diversity(np.array([[0, 1]]), features) == pytest.approx(0.0)
    assert intra_list_diversity(np.array([[0, 2]]), features) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 3]]), features) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 4]]), features) == pytest.approx(1 - 2 ** -0.5)


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


def test_ease_matches_the_closed_form():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0]], float))
    active, weights = ease_weights(x, l2=2.0)
    p = np.linalg.inv(x.T.toarray()[:3] @ x.toarray()[:, :3] + 2.0 * np.eye(3))
    expected = np.eye(3) - p / np.diag(p)
    assert active.tolist() == [0, 1, 2]
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    assert ease_scores(x, active, weights)[:, 3].tolist() == [0, 0, 0, 0]


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


# ---- hybrid ------------------------------------------------------------------------------------


def test_time_decay_halves_per_half_life_and_ignores_events_after_now():
    data = make_data([("a", 0, 0.0, True), ("a", 1, 10 * DAY, True), ("a", 2, 11 * DAY, True),
                      ("a", 3, 20 * DAY, True), ("a", 4, 40 * DAY, True),
                      ("b", 1, 30 * DAY, True), ("b", 5, 50 * DAY, True)])
    at_return = temporal_split(data, clock="next_visit")
    decayed = time_decayed_popularity(at_return, np.array([0]), half_life_days=10.0)[0]
    assert at_return.now[0] == 40 * DAY
    assert decayed[0] == pytest.approx(0.5 ** 4)
    assert decayed[1] == pytest.approx(0.5 ** 3 + 0.5)
    assert decayed[5] == 0
    last_seen = temporal_split(data)
    decayed = time_decayed_popularity(last_seen, np.array([0]), half_life_days=10.0)[0]
    assert last_seen.now[0] == 20 * DAY
    assert decayed[1] == pytest.approx(0.5)  # b's event at day 30 is after a's now


def test_scale_rows_maps_unseen_items_onto_unit_range():
    scaled = scale_rows(np.array([[9.0, 2.0, 4.0, 6.0]]), sp.csr_matrix(np.array([[1, 0, 0, 0]])))
    assert scaled.tolist() == [[0.0, 0.0, 0.5, 1.0]]


def test_mmr_without_diversity_is_top_k_and_with_it_avoids_near_duplicates():
    scores = np.array([[1.0, 0.99, 0.5, 0.0]])
    seen = sp.csr_matrix((1, 4))
    vectors = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [1, 1]], float))
    assert mmr_rerank(scores, seen, vectors, k=2, pool=4).tolist() == [[0, 1]]
    assert mmr_rerank(scores, seen, vectors, k=2, pool=4, diversity=0.5).tolist() == [[0, 2]]


def test_hybrid_with_collab_alone_ranks_like_ease():
    rng = np.random.default_rng(0)
    events = [(f"u{u}", int(item), float(t), bool(rng.random() < 0.6)) for u in range(30)
              for t, item in enumerate(rng.choice(12, size=8, replace=False))]
    data = make_data(events, n_items=12, texts=[f"film about topic{n % 4}" for n in range(12)])
    split = temporal_split(data)
    rows = split.eval_rows
    model = fit_hybrid(split, segment_labels=np.zeros(len(split.users), dtype=int), l2=5.0)
    hybrid = recommend_hybrid(model, split, rows, HybridWeights(), k=3)
    ease = top_k(ease_scores(split.train[rows], *ease_weights(split.train, l2=5.0)),
                 split.train[rows], k=3)
    assert len(rows) > 0
    assert hybrid.tolist() == ease.tolist()


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
