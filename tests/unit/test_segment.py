import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import estimator_checks

from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.segment import ProfileSegmenter

DIM = 50


def blobs_with_noise(seed=0, n_noise=40):
    X, y = make_blobs(n_samples=[120] * 4, n_features=DIM, center_box=(-10, 10), random_state=seed)
    noise = np.random.default_rng(seed).uniform(-10, 10, size=(n_noise, DIM))
    return np.vstack([X, noise]), np.concatenate([y, np.full(n_noise, -1)])


def nested_blobs(seed=0):
    """Cluster 0: two clear sub-blobs; cluster 1: one tight blob. Returns X, clusters, parts."""
    rng = np.random.default_rng(seed)
    centre_a, centre_b = rng.uniform(-10, 10, size=(2, DIM))
    offset = rng.normal(size=DIM)
    offset *= 6.0 / np.linalg.norm(offset)
    sub_1 = centre_a + offset + rng.normal(size=(80, DIM)) * 0.3
    sub_2 = centre_a - offset + rng.normal(size=(80, DIM)) * 0.3
    tight = centre_b + rng.normal(size=(100, DIM)) * 0.3
    X = np.vstack([sub_1, sub_2, tight])
    clusters = np.repeat([0, 0, 1], [80, 80, 100])
    parts = np.repeat([0, 1, 2], [80, 80, 100])
    return X, clusters, parts


@pytest.fixture(scope="module")
def pipeline():
    X, y = blobs_with_noise()
    clusters = DensityClusterer().fit(X).labels_
    return X, y, clusters, ProfileSegmenter().fit(X, clusters)


def test_every_row_is_assigned_and_blobs_are_recovered(pipeline):
    X, y, _, seg = pipeline
    assert seg.labels_.shape == (len(X),)
    assert seg.labels_.min() >= 0 and seg.labels_.max() == seg.n_segments_ - 1
    assert seg.n_segments_ == 4  # one tight blob per cluster: nothing is split
    assert adjusted_rand_score(y[y >= 0], seg.labels_[y >= 0]) >= 0.9
    assert np.array_equal(seg.parent_cluster_, np.arange(4))
    assert not seg.fallback_


def test_outliers_are_flagged_with_low_confidence(pipeline):
    _, _, clusters, seg = pipeline
    assert np.array_equal(seg.is_outlier_, clusters < 0)
    assert seg.is_outlier_.sum() > 0
    assert np.all(seg.confidence_[seg.is_outlier_] < 0.5)
    assert np.all(seg.confidence_[~seg.is_outlier_] >= 0.5)
    assert np.all((seg.confidence_ >= 0) & (seg.confidence_ <= 1))


def test_centroids_are_normalised_members_means(pipeline):
    X, _, _, seg = pipeline
    assert seg.centroids_.shape == (seg.n_segments_, DIM)
    assert np.allclose(np.linalg.norm(seg.centroids_, axis=1), 1.0)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    members = unit[(seg.labels_ == 0) & ~seg.is_outlier_].mean(axis=0)
    assert np.allclose(seg.centroids_[0], members / np.linalg.norm(members), atol=1e-6)


def test_two_sub_blobs_are_split_but_a_tight_blob_is_not():
    X, clusters, parts = nested_blobs()
    seg = ProfileSegmenter().fit(X, clusters)
    assert sorted(seg.parent_cluster_.tolist()) == [0, 0, 1]
    assert adjusted_rand_score(parts, seg.labels_) >= 0.9
    assert seg.fit_predict(X, clusters).tolist() == seg.labels_.tolist()


def test_min_silhouette_and_min_segment_size_block_splits():
    X, clusters, _ = nested_blobs()
    assert ProfileSegmenter(min_silhouette=0.99).fit(X, clusters).n_segments_ == 2
    assert ProfileSegmenter(min_segment_size=81).fit(X, clusters).n_segments_ == 2
    assert ProfileSegmenter(max_segments_per_cluster=1).fit(X, clusters).n_segments_ == 2


def test_stable_under_reseed_and_shuffle():
    X, clusters, _ = nested_blobs(seed=2)
    first = ProfileSegmenter(random_state=0).fit(X, clusters)
    order = np.random.default_rng(3).permutation(len(X))
    second = ProfileSegmenter(random_state=42).fit(X[order], clusters[order])
    relabelled = np.empty_like(second.labels_)
    relabelled[order] = second.labels_
    assert adjusted_rand_score(first.labels_, relabelled) >= 0.9


def test_all_noise_falls_back_to_kmeans_over_all_rows():
    X, y = make_blobs(n_samples=[60, 60, 60], n_features=DIM, center_box=(-10, 10),
                      random_state=5)
    seg = ProfileSegmenter().fit(X, np.full(len(X), -1))
    assert seg.fallback_
    assert seg.n_segments_ == 3
    assert adjusted_rand_score(y, seg.labels_) >= 0.9
    assert np.all(seg.parent_cluster_ == -1)
    assert np.all(seg.is_outlier_) and np.all(seg.confidence_ < 0.5)
    _, confidence = seg.predict(X)
    assert np.all(confidence < 0.5)


def test_predict_agrees_with_fit_and_places_new_points(pipeline):
    X, _, _, seg = pipeline
    labels, confidence = seg.predict(X)
    members = ~seg.is_outlier_
    assert np.array_equal(labels[members], seg.labels_[members])
    assert np.mean(confidence[members] >= 0.5) >= 0.9
    new_X, new_y = blobs_with_noise(seed=0, n_noise=0)
    new_labels, _ = seg.predict(new_X + np.random.default_rng(1).normal(0, 0.3, new_X.shape))
    assert adjusted_rand_score(new_y, new_labels) >= 0.9
    far = np.random.default_rng(2).uniform(-10, 10, size=(20, DIM))
    _, far_confidence = seg.predict(far)
    assert np.all(far_confidence < 0.5)


@pytest.mark.parametrize("n_rows", [1, 2, 5])
@pytest.mark.parametrize("cluster_id", [-1, 0])
def test_tiny_inputs_get_one_segment(n_rows, cluster_id):
    X = np.random.default_rng(n_rows).normal(size=(n_rows, 4))
    seg = ProfileSegmenter().fit(X, np.full(n_rows, cluster_id))
    assert seg.n_segments_ == 1
    assert seg.labels_.tolist() == [0] * n_rows
    assert seg.predict(X)[0].tolist() == [0] * n_rows


def test_duplicate_rows_do_not_crash():
    X = np.vstack([np.tile([1.0, 0, 0, 0], (30, 1)), np.tile([0, 1.0, 0, 0], (30, 1))])
    seg = ProfileSegmenter().fit(X, np.zeros(60, dtype=int))
    assert seg.n_segments_ == 2
    assert adjusted_rand_score(np.repeat([0, 1], 30), seg.labels_) == 1.0
    same = ProfileSegmenter().fit(np.ones((12, 3)), np.zeros(12, dtype=int))
    assert same.n_segments_ == 1


def test_label_length_must_match():
    with pytest.raises(ValueError):
        ProfileSegmenter().fit(np.ones((4, 2)), [0, 0, 0])


def test_params_round_trip_through_clone():
    model = ProfileSegmenter(max_segments_per_cluster=3, min_segment_size=8, min_silhouette=0.2,
                             random_state=None)
    assert clone(model).get_params() == model.get_params()
    assert ProfileSegmenter().get_params() == {
        "max_segments_per_cluster": 4, "min_segment_size": 5, "min_silhouette": 0.15,
        "random_state": 0}


@pytest.mark.parametrize("check", [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_parameters_default_constructible,
])
def test_sklearn_estimator_checks(check):
    # fit takes the density labels as a required second argument, so sklearn's fit-based
    # checks (which pass a target y or none) do not apply
    check("ProfileSegmenter", ProfileSegmenter())


def test_predict_with_cluster_labels_reproduces_fit():
    X, clusters, _ = nested_blobs(seed=4)
    clusters = clusters.copy()
    clusters[::25] = -1  # a few outliers
    seg = ProfileSegmenter().fit(X, clusters)
    labels, confidence = seg.predict(X, clusters)
    assert np.array_equal(labels, seg.labels_)
    assert np.allclose(confidence, seg.confidence_)
    # a row said to be in cluster 1 stays in cluster 1's segment even if it lies elsewhere
    row = X[:1]  # a cluster-0 row
    label, conf = seg.predict(row, [1])
    assert seg.parent_cluster_[label[0]] == 1 and conf[0] >= 0.5
