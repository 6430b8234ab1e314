import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import estimator_checks

from interestlens.tools.cluster import DensityClusterer, content_sample

N_BLOBS, PER_BLOB, N_NOISE, DIM = 4, 120, 40, 50


def blobs_with_noise(seed=0, n_noise=N_NOISE):
    """Four 50-d Gaussian blobs plus rows spread uniformly over a wide box (label -1)."""
    X, y = make_blobs(n_samples=[PER_BLOB] * N_BLOBS, n_features=DIM, cluster_std=1.0,
                      center_box=(-10, 10), random_state=seed)
    noise = np.random.default_rng(seed).uniform(-10, 10, size=(n_noise, DIM))
    return np.vstack([X, noise]), np.concatenate([y, np.full(n_noise, -1)])


@pytest.fixture(scope="module")
def data():
    return blobs_with_noise()


@pytest.fixture(scope="module")
def fitted(data):
    return DensityClusterer().fit(data[0])


def test_recovers_the_blobs_and_flags_the_noise(data, fitted):
    _, y = data
    labels = fitted.labels_
    is_blob = y >= 0
    assert fitted.n_clusters_ == N_BLOBS
    assert adjusted_rand_score(y[is_blob], labels[is_blob]) >= 0.9
    assert np.mean(labels[is_blob] >= 0) >= 0.95
    assert np.mean(labels[~is_blob] == -1) >= 0.8


def test_learned_attributes_are_consistent(data, fitted):
    X, _ = data
    assert fitted.labels_.shape == (len(X),)
    assert set(np.unique(fitted.labels_)) <= set(range(-1, fitted.n_clusters_))
    assert np.all((fitted.probabilities_ >= 0) & (fitted.probabilities_ <= 1))
    assert np.all(fitted.probabilities_[fitted.labels_ == -1] == 0)
    assert np.all(fitted.probabilities_[fitted.labels_ >= 0] > 0)
    assert fitted.centroids_.shape == (fitted.n_clusters_, DIM)
    assert np.allclose(np.linalg.norm(fitted.centroids_, axis=1), 1.0)
    sizes = np.bincount(fitted.labels_[fitted.labels_ >= 0])
    assert np.all(np.diff(sizes) <= 0)  # cluster 0 is the largest
    assert fitted.reducer_.n_components_ == 12


def test_stable_under_reseed_and_shuffle(data, fitted):
    X, _ = data
    order = np.random.default_rng(7).permutation(len(X))
    other = DensityClusterer(random_state=123).fit(X[order])
    relabelled = np.empty_like(other.labels_)
    relabelled[order] = other.labels_
    assert adjusted_rand_score(fitted.labels_, relabelled) >= 0.9


def test_subsampled_fit_is_stable_and_labels_every_row():
    X, y = blobs_with_noise(seed=3)
    first = DensityClusterer(max_fit_samples=200, random_state=0).fit(X)
    order = np.random.default_rng(1).permutation(len(X))
    second = DensityClusterer(max_fit_samples=200, random_state=5).fit(X[order])
    assert len(first.sample_indices_) == 200
    assert set(order[second.sample_indices_]) == set(first.sample_indices_)
    relabelled = np.empty_like(second.labels_)
    relabelled[order] = second.labels_
    assert adjusted_rand_score(first.labels_, relabelled) >= 0.9
    assert adjusted_rand_score(y[y >= 0], first.labels_[y >= 0]) >= 0.9


def test_content_sample_ignores_order_and_keeps_all_rows_of_small_data():
    X = np.random.default_rng(0).normal(size=(50, 4))
    order = np.random.default_rng(1).permutation(50)
    assert sorted(content_sample(X, 100)) == list(range(50))
    picked = content_sample(X, 10)
    assert len(picked) == 10
    assert np.array_equal(X[picked], X[order][content_sample(X[order], 10)])


def test_predict_on_new_points_agrees_with_fit(data, fitted):
    X, y = data
    labels, _ = fitted.predict(X)
    assert np.mean(labels == fitted.labels_) >= 0.95
    new_X, new_y = blobs_with_noise(seed=0, n_noise=0)
    new_X = new_X + np.random.default_rng(9).normal(scale=0.3, size=new_X.shape)
    new_labels, new_strengths = fitted.predict(new_X)
    assert adjusted_rand_score(new_y, new_labels) >= 0.9
    # each new point lands in the cluster that holds its blob at fit time
    for blob in range(N_BLOBS):
        fit_cluster = np.bincount(fitted.labels_[y == blob] + 1).argmax() - 1
        assert np.mean(new_labels[new_y == blob] == fit_cluster) >= 0.9
    assert np.all((new_strengths >= 0) & (new_strengths <= 1))


def test_two_halves_are_found_even_though_each_is_large():
    X, y = make_blobs(n_samples=[150, 150], n_features=DIM, center_box=(-10, 10), random_state=4)
    model = DensityClusterer().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(y, model.labels_) >= 0.9


def test_explicit_min_cluster_size_is_scaled_to_the_sample(data):
    X, _ = data
    model = DensityClusterer(min_cluster_size=100, max_fit_samples=260).fit(X)
    assert model.min_cluster_size_ == round(100 * 260 / len(X))
    assert model.get_params()["min_cluster_size"] == 100


@pytest.mark.parametrize("n_rows", [1, 2, 5])
def test_tiny_inputs_are_all_noise_and_predict_works(n_rows):
    X = np.random.default_rng(0).normal(size=(n_rows, 6))
    model = DensityClusterer().fit(X)
    assert model.n_clusters_ == 0
    assert model.labels_.tolist() == [-1] * n_rows
    assert model.centroids_.shape == (0, 6)
    labels, strengths = model.predict(X)
    assert labels.tolist() == [-1] * n_rows and strengths.tolist() == [0.0] * n_rows


def test_duplicate_rows_do_not_crash():
    X = np.repeat(np.eye(3, 8) + 0.01, 20, axis=0)
    model = DensityClusterer().fit(X)
    assert model.labels_.shape == (60,)
    assert model.n_clusters_ in (0, 3)


def test_params_round_trip_through_clone():
    model = DensityClusterer(min_cluster_size=12, n_components=7, max_fit_samples=900,
                             random_state=3)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.get_params() == {"min_cluster_size": 12, "n_components": 7,
                                 "max_fit_samples": 900, "random_state": 3}
    assert DensityClusterer().get_params() == {"min_cluster_size": None, "n_components": 12,
                                               "max_fit_samples": 5000, "random_state": 0}


def test_fit_predict_returns_labels(data):
    X, _ = data
    model = DensityClusterer()
    assert np.array_equal(model.fit_predict(X), model.labels_)


@pytest.mark.parametrize("check", [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_dont_overwrite_parameters,
    estimator_checks.check_n_features_in,
    estimator_checks.check_fit2d_1sample,
    estimator_checks.check_fit_idempotent,
    estimator_checks.check_clustering,
])
def test_sklearn_estimator_checks(check):
    # predict returns (labels, strengths), so sklearn's checks that compare predict outputs
    # as one array (check_methods_sample_order_invariance) do not apply
    check("DensityClusterer", DensityClusterer())


def test_content_sample_ignores_float_noise_in_the_last_bits():
    X = np.random.default_rng(2).normal(size=(300, 8)).astype(np.float32)
    noisy = np.nextafter(X, np.float32(np.inf))  # every value moved by one float32 step
    assert np.array_equal(content_sample(X, 50), content_sample(noisy, 50))


def test_a_keyed_sample_stays_put_when_every_vector_moves_a_little():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    moved = X + rng.normal(scale=1e-3, size=X.shape).astype(np.float32)  # e.g. a new document
    keys = [f"doc-{row}" for row in range(len(X))]
    assert np.array_equal(content_sample(X, 100, keys), content_sample(moved, 100, keys))
    by_values = set(content_sample(X, 100)) & set(content_sample(moved, 100))
    assert len(by_values) < 60  # hashed values change with every vector: another sample
    with pytest.raises(ValueError, match="2 sample keys for 300 rows"):
        DensityClusterer().fit(X, sample_keys=keys[:2])


def test_refinement_moves_border_rows_to_the_nearest_cluster_mean():
    from interestlens.tools.cluster import _refine

    X = np.array([[1.0, 0.0], [0.95, 0.3], [0.0, 1.0], [0.3, 0.95], [0.9, 0.1], [0.5, 0.5]])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1, 1, -1])  # row 4 sits with cluster 1 but points at cluster 0
    refined = _refine(X, labels, 2)
    assert refined.tolist() == [0, 0, 1, 1, 0, -1]
