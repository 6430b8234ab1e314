import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.tools.rank import SECONDS_PER_DAY, decayed_counts, mmr_rerank, scale_rows, top_k

DAY = SECONDS_PER_DAY


def test_top_k_orders_by_score_and_breaks_ties_by_index():
    scores = np.array([[5.0, 1.0, 3.0, 3.0, -np.inf], [0.0, 2.0, 0.0, 1.0, 9.0]])
    assert top_k(scores, k=3).tolist() == [[0, 2, 3], [4, 1, 3]]
    assert top_k(scores, k=9).shape == (2, 5)


def test_scale_rows_maps_unseen_items_onto_unit_range():
    scaled = scale_rows(np.array([[9.0, 2.0, 4.0, 6.0], [1.0, 1.0, 1.0, 1.0]]),
                        sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]])))
    assert scaled.tolist() == [[0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0]]


def test_scale_rows_of_a_user_who_saw_everything_is_zero():
    scaled = scale_rows(np.array([[3.0, 4.0]]), sp.csr_matrix(np.ones((1, 2))))
    assert scaled.tolist() == [[0.0, 0.0]]


UNIT = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2 ** -0.5, 2 ** -0.5]])


def test_mmr_avoids_a_near_duplicate_and_reported_scores_fall():
    scores = np.array([[1.0, 0.99, 0.5, 0.0]])
    items = np.array([[0, 1, 2, 3]])
    plain, _ = mmr_rerank(scores, items, UNIT, k=2, diversity=0.0)
    diverse, reported = mmr_rerank(scores, items, UNIT, k=3, diversity=0.5)
    assert plain.tolist() == [[0, 1]]
    assert diverse.tolist()[0][:2] == [0, 2]
    assert reported[0, 0] == pytest.approx(1.0)
    assert np.all(np.diff(reported[0]) <= 0)


def test_mmr_never_picks_minus_infinity_and_pads():
    picks, reported = mmr_rerank(np.array([[1.0, -np.inf]]), np.array([[3, 2]]), UNIT, k=2,
                                 diversity=0.2)
    assert picks.tolist() == [[3, -1]]
    assert reported[0, 1] == -np.inf


def test_decay_halves_per_half_life_and_ignores_later_interactions():
    items = np.array([0, 1, 1, 2])
    times = np.array([0.0, 10 * DAY, 20 * DAY, 40 * DAY])
    counts = decayed_counts(items, times, np.array([20 * DAY, np.nan, 40 * DAY]),
                            half_life_days=10.0, n_items=3)
    np.testing.assert_allclose(counts[0], [0.25, 0.5 + 1.0, 0.0], rtol=1e-6)
    assert counts[1].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(counts[2], [0.5 ** 4, 0.5 ** 3 + 0.25, 1.0], rtol=1e-6)
