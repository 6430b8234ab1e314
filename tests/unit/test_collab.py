import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from interestlens.tools.collab import HybridRecommender
from interestlens.tools.errors import ConfigError
from interestlens.tools.interactions import INTERACTION_COLUMNS

ONLY_COLLAB = {"collab": 1.0, "collab_positive": 0.0, "content": 0.0, "segment": 0.0,
               "recency": 0.0, "popularity": 0.0, "min_user_events": 0}


def interactions(rows):
    """Rows are (user, item, day, is_positive)."""
    frame = pd.DataFrame(rows, columns=["user", "item", "day", "is_positive"])
    frame["timestamp"] = pd.to_datetime(frame.pop("day"), unit="D", utc=True)
    return frame[list(INTERACTION_COLUMNS)]


def random_rows(n_users=12, n_items=8, seed=0):
    rng = np.random.default_rng(seed)
    return [(f"u{u}", f"i{i}", int(rng.integers(0, 50)), bool(rng.random() < 0.5))
            for u in range(n_users) for i in range(n_items) if rng.random() < 0.4]


@pytest.mark.parametrize("n_users", [12, 3])  # more users than items (primal), fewer (dual)
def test_collab_scores_are_ease_by_a_direct_solve(n_users):
    rows = random_rows(n_users=n_users)
    model = HybridRecommender(l2=3.0, **ONLY_COLLAB).fit(interactions(rows))
    x = model.matrix_.toarray()
    active = np.flatnonzero(x.sum(axis=0) > 0)
    p = np.linalg.solve(x[:, active].T @ x[:, active] + 3.0 * np.eye(len(active)),
                        np.eye(len(active)))
    raw = np.zeros_like(x)
    raw[:, active] = x[:, active] @ (np.eye(len(active)) - p / np.diag(p))
    terms = model.terms(model.user_ids_.tolist())
    unseen = x == 0
    low = np.where(unseen, raw, np.inf).min(axis=1, keepdims=True)
    high = np.where(unseen, raw, -np.inf).max(axis=1, keepdims=True)
    expected = np.where(unseen, (raw - low) / np.where(high > low, high - low, 1), 0)
    np.testing.assert_allclose(terms.values["collab"], expected, atol=1e-4)


def test_seen_items_are_never_recommended():
    rows = random_rows(seed=3)
    model = HybridRecommender(**ONLY_COLLAB).fit(interactions(rows))
    users = model.user_ids_.tolist()
    ids, _, _ = model.recommend(users, k=8, seen={users[0]: {"i0", "i1"}})
    touched = {(u, i) for u, i, _, _ in rows}
    assert all((user, item) not in touched for user, items in zip(users, ids) for item in items)
    assert not {"i0", "i1"} & set(ids[0])
    assert np.all(np.isneginf(model.score(users)[model.matrix_.toarray() > 0]))


# a: liked by people who liked x; b: merely viewed by people who viewed x
POSITIVE_ROWS = (
    [(f"p{n}", "x", 1, True) for n in range(6)] + [(f"p{n}", "a", 2, True) for n in range(6)]
    + [(f"v{n}", "x", 1, False) for n in range(9)] + [(f"v{n}", "b", 2, False) for n in range(9)]
    + [("me", "x", 3, True), ("me", "y", 4, True), ("me", "z", 5, False)]
)


def test_positive_only_term_follows_likes_not_views():
    data = interactions(POSITIVE_ROWS)
    plain = HybridRecommender(**ONLY_COLLAB).fit(data)
    liked = HybridRecommender(**{**ONLY_COLLAB, "collab": 0.0, "collab_positive": 1.0}).fit(data)
    assert plain.recommend(["me"], k=1)[0] == [["b"]]
    ids, _, evidence = liked.recommend(["me"], k=1)
    assert ids == [["a"]]
    assert evidence[0][0].contributions[0][0] == "collab_positive"
    assert evidence[0][0].because_items == ("x",)  # "y" was liked by nobody else
    assert evidence[0][0].level == "user"


SEGMENTS = {"s1": "S1", "s2": "S1", "s3": "S1", "t1": "S2", "t2": "S2", "new": "S1"}
SEGMENT_ROWS = [
    ("s1", "hit", 1, True), ("s2", "hit", 2, True), ("s3", "hit", 3, True),
    ("s1", "s-other", 1, True), ("s2", "s-other", 1, True), ("s3", "s-more", 1, True),
    ("t1", "pop", 1, True), ("t2", "pop", 2, True), ("t1", "t-more", 1, True),
    ("t2", "t-more", 1, True), ("t1", "t-x", 1, True), ("t2", "t-y", 1, True),
    ("x1", "pop", 1, True), ("x2", "pop", 1, True), ("x3", "pop", 1, True),
    ("new", "s-more", 4, False),
]


def test_cold_start_user_gets_the_segment_favourites_with_that_label():
    model = HybridRecommender(min_user_events=3, cold_popularity=0.0).fit(
        interactions(SEGMENT_ROWS), user_segments=SEGMENTS)
    ids, scores, evidence = model.recommend(["new", "unknown"], k=2)
    assert ids[0][0] == "hit"  # the most used item in S1, not the globally popular "pop"
    assert evidence[0][0].level == "cold_start"
    assert evidence[0][0].segment_id == "S1" and evidence[0][0].n_segment_users == 3
    assert evidence[0][0].contributions[0][0] == "segment"
    assert evidence[1][0].segment_id is None and len(ids[1]) == 2  # unknown user: still served
    assert scores[0] == sorted(scores[0], reverse=True)


def test_segment_recommendations_use_the_population_terms():
    model = HybridRecommender(cold_popularity=0.0).fit(interactions(SEGMENT_ROWS),
                                                       user_segments=SEGMENTS)
    ids, _, evidence = model.recommend_segments(["S2", "S1"], k=1)
    assert ids == [["pop"], ["hit"]]
    assert evidence[0][0].level == "segment" and evidence[0][0].n_segment_users == 2


@pytest.mark.parametrize("diversity", [0.0, 0.3])
def test_candidates_filter_before_ranking_and_keep_the_unfiltered_order(diversity):
    rows = random_rows(n_users=20, n_items=30, seed=5)
    vectors = np.random.default_rng(0).normal(size=(30, 4))
    data = {"item_vectors": vectors, "item_ids": [f"i{i}" for i in range(30)]}
    model = HybridRecommender(diversity=diversity, pool=30).fit(interactions(rows), **data)
    users = model.user_ids_.tolist()
    allowed = {f"i{i}" for i in range(0, 30, 3)}
    full, _, _ = HybridRecommender(pool=30).fit(interactions(rows), **data).recommend(users, k=30)
    ids, _, _ = model.recommend(users, k=3, candidates=sorted(allowed))
    seen = {(u, i) for u, i, _, _ in rows}
    for user, picked, ranked in zip(users, ids, full):
        assert set(picked) <= allowed
        n_left = len([i for i in allowed if (user, i) not in seen])
        assert len(picked) == min(3, n_left)  # k come back while enough items qualify
        if diversity == 0:
            assert picked == [i for i in ranked if i in allowed][:3]
    ids, _, evidence = model.recommend_segments(["none"], k=2, candidates=["i4", "i7"])
    assert sorted(ids[0]) == ["i4", "i7"] and evidence[0][0].level == "segment"


def test_recency_term_prefers_recent_interactions_and_clock_matters():
    rows = [(f"o{n}", "old", 0, True) for n in range(3)]
    rows += [("r1", "new", 99, True), ("r2", "new", 100, True), ("me", "other", 10, True)]
    data = interactions(rows)
    weights = {**ONLY_COLLAB, "collab": 0.0, "recency": 1.0, "half_life_days": 7.0}
    latest = HybridRecommender(**weights).fit(data)
    at_user = HybridRecommender(**weights, clock="user").fit(data)
    ids, _, evidence = latest.recommend(["me"], k=1)
    assert ids == [["new"]] and not evidence[0][0].is_recent_at_last_visit
    ids, _, evidence = at_user.recommend(["me"], k=1)
    assert ids == [["old"]]  # at day 10 "new" did not exist yet
    assert evidence[0][0].is_recent_at_last_visit and evidence[0][0].n_recent > 0


def test_content_term_and_mmr_need_item_vectors():
    data = interactions([("u", "a", 1, True), ("v", "b", 1, True), ("v", "c", 1, True)])
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    model = HybridRecommender(**{**ONLY_COLLAB, "collab": 0.0, "content": 1.0}).fit(
        data, item_vectors=vectors, item_ids=["a", "b", "c"])
    assert model.recommend(["u"], k=2)[0] == [["b", "c"]]
    with pytest.raises(ConfigError, match="diversity > 0 needs item_vectors"):
        HybridRecommender(diversity=0.2).fit(data)
    with pytest.raises(ConfigError, match="one id per vector"):
        HybridRecommender().fit(data, item_vectors=vectors, item_ids=["a"])


@pytest.mark.parametrize(("params", "message"), [
    ({"segment": -1.0}, "weights must be >= 0"), ({"diversity": 1.0}, "diversity < 1")])
def test_bad_params_raise_config_error(params, message):
    with pytest.raises(ConfigError, match=message):
        HybridRecommender(**params).fit(interactions([("u", "a", 1, True)]))


def test_missing_columns_raise_config_error():
    with pytest.raises(ConfigError, match="lack column"):
        HybridRecommender().fit(pd.DataFrame({"user": ["u"], "item": ["a"]}))


def test_fit_is_deterministic_and_follows_the_sklearn_contract():
    data = interactions(random_rows(seed=5))
    vectors = np.random.default_rng(0).random((8, 4))
    ids = [f"i{n}" for n in range(8)]
    model = HybridRecommender(diversity=0.1, segment=0.3)
    assert clone(model).get_params() == model.get_params()
    first = model.fit(data, item_vectors=vectors, item_ids=ids).recommend(["u0", "u1"], k=4)
    second = clone(model).fit(data, item_vectors=vectors, item_ids=ids).recommend(["u0", "u1"],
                                                                                  k=4)
    assert first[0] == second[0] and first[1] == second[1]
    assert model.diversity == 0.1 and not hasattr(HybridRecommender(), "matrix_")
