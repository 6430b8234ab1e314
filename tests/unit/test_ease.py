import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.tools.ease import ease_weights, fit_ease

L2 = 2.0


def direct_b(x: np.ndarray, l2: float) -> np.ndarray:
    """EASE by the book: B = I - P / diag(P), P = inv(XᵀX + λI)."""
    p = np.linalg.solve(x.T @ x + l2 * np.eye(x.shape[1]), np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p / np.diag(p)


def random_matrix(n_users: int, n_items: int, seed: int = 0) -> np.ndarray:
    x = (np.random.default_rng(seed).random((n_users, n_items)) < 0.35).astype(float)
    x[:, -1] = 0.0  # an item nobody touched
    return x


@pytest.mark.parametrize(("n_users", "form"), [(30, "primal"), (4, "dual")])
def test_scores_match_the_closed_form_in_both_forms(n_users, form):
    x = random_matrix(n_users, 9)
    model = fit_ease(sp.csr_matrix(x), l2=L2)
    assert (model.weights is None) == (form == "dual")
    active = np.flatnonzero(x.sum(axis=0) > 0)
    expected = np.zeros_like(x)
    expected[:, active] = x[:, active] @ direct_b(x[:, active], L2)
    np.testing.assert_allclose(model.scores(sp.csr_matrix(x)), expected, atol=1e-4)
    assert np.all(model.scores(sp.csr_matrix(x))[:, -1] == 0)


@pytest.mark.parametrize("n_users", [30, 4])
def test_weights_between_read_b_with_a_zero_diagonal(n_users):
    x = random_matrix(n_users, 6, seed=1)
    active = np.flatnonzero(x.sum(axis=0) > 0)
    b = direct_b(x[:, active], L2)
    model = fit_ease(sp.csr_matrix(x), l2=L2)
    sources, targets = active[::-1], active[[1, 0, 2]]  # any order, sources and targets overlap
    got = model.weights_between(sources, targets)
    assert got.shape == (len(sources), 3)
    np.testing.assert_allclose(got, b[np.ix_(np.arange(len(active))[::-1], [1, 0, 2])],
                               atol=1e-4)
    assert np.all(got[sources[:, None] == targets[None, :]] == 0)
    unused = np.setdiff1d(np.arange(6), active)
    assert not model.weights_between(unused, active).any()
    assert not model.weights_between(active, unused).any()


def test_primal_weights_skip_unused_items():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0]], float))
    active, weights = ease_weights(x, l2=L2)
    assert active.tolist() == [0, 1, 2]
    np.testing.assert_allclose(weights, direct_b(x.toarray()[:, :3], L2), atol=1e-5)


def test_memory_cap_keeps_the_most_used_items():
    x = np.zeros((3, 5))
    x[:, 0], x[:2, 1], x[0, 2] = 1, 1, 1
    model = fit_ease(sp.csr_matrix(x), l2=L2, max_cells=4)
    assert sorted(model.items.tolist()) == [0, 1]
    assert np.all(model.scores(sp.csr_matrix(x))[:, 2:] == 0)


def test_dual_scores_of_fitted_rows_read_off_the_solve():
    x = sp.csr_matrix(random_matrix(4, 9, seed=2))
    model = fit_ease(x, l2=L2)
    assert model.weights is None
    np.testing.assert_allclose(model.scores(x, fitted=np.array([0, 1, -1, 3])), model.scores(x),
                               atol=1e-5)
