import numpy as np
import pandas as pd
import pytest

from interestlens.tools import collab_tune
from interestlens.tools.collab import HybridRecommender
from interestlens.tools.collab_tune import ndcg_at_k, tune_hybrid
from interestlens.tools.interactions import INTERACTION_COLUMNS


def interactions(rows):
    """Rows are (user, item, day, is_positive)."""
    frame = pd.DataFrame(rows, columns=["user", "item", "day", "is_positive"])
    frame["timestamp"] = pd.to_datetime(frame.pop("day"), unit="D", utc=True)
    return frame[list(INTERACTION_COLUMNS)]


def test_ndcg_counts_hits_by_rank_and_unreachable_positives():
    discount = 1 / np.log2(3)
    picks = np.array([[1, 2, 3], [7, 8, -1], [4, 5, 6]])
    value = ndcg_at_k(picks, [np.array([2, 5]), np.array([]), np.array([4, -2])])
    assert value == pytest.approx(np.mean([discount / (1 + discount), 1 / (1 + discount)]))
    assert ndcg_at_k(picks, [np.array([])] * 3) == 0.0


def trending_rows(seed=0):
    """Group A's newest interactions are the items group B made popular lately; collab on A's
    older interactions cannot find them, a recency prior can."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(40):
        old = rng.choice(30, size=8, replace=False)
        rows += [(f"a{user}", f"old{i}", int(rng.integers(0, 50)), True) for i in old]
        rows += [(f"a{user}", f"trend{i}", 100 + n, True)
                 for n, i in enumerate(rng.choice(5, size=2, replace=False))]
    for user in range(20):
        rows += [(f"b{user}", f"trend{i}", int(rng.integers(80, 100)), True)
                 for i in rng.choice(10, size=5, replace=False)]
    return rows


def test_tuning_picks_the_term_that_finds_the_held_out_items():
    result = tune_hybrid(HybridRecommender(), interactions(trending_rows()), n_passes=1)
    assert result is not None and result.n_users >= 40
    assert result.params["recency"] > 0
    assert result.ndcg > 1.5 * result.start_ndcg
    HybridRecommender().set_params(**result.params)  # the params fit the estimator


def test_tuning_is_deterministic():
    data = interactions(trending_rows(seed=1))
    first = tune_hybrid(HybridRecommender(), data, n_passes=1)
    second = tune_hybrid(HybridRecommender(), data, n_passes=1)
    assert first == second


def test_too_few_validation_users_skip_tuning():
    rows = [(f"u{n}", f"i{k}", k, True) for n in range(3) for k in range(5)]
    assert tune_hybrid(HybridRecommender(), interactions(rows)) is None


def test_terms_computed_in_batches_tune_the_same(monkeypatch):
    data = interactions(trending_rows(seed=2))
    whole = tune_hybrid(HybridRecommender(), data, n_passes=1)
    monkeypatch.setattr(collab_tune, "TERM_CELLS", 7 * 45)  # 7 users per batch
    assert tune_hybrid(HybridRecommender(), data, n_passes=1) == whole
