"""Segments: density clusters split where k-means clearly helps, and every outlier placed.

Each density cluster is split by k-means with k in 1..``max_segments_per_cluster``; k > 1 is kept
only when its silhouette (on a sample of the cluster) reaches ``min_silhouette`` and every part has
at least ``min_segment_size`` rows. Outliers (cluster -1) then join the segment whose centroid is
nearest (cosine), with a confidence below 0.5 and ``is_outlier_`` set. When every row is an outlier
there are no clusters to split: k-means runs over all rows instead (``fallback_`` is True).

Silhouettes are euclidean on L2-normalised rows (cosine geometry). On fused text vectors they stay
around 0.03-0.1 for any k, whether or not a cluster mixes topics, so with the default
``min_silhouette`` text clusters are rarely split: the density clusterer sets the granularity.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import euclidean_distances, silhouette_score
from sklearn.utils.validation import check_is_fitted, validate_data

from interestlens.tools.cluster import content_sample, normalise_rows

logger = logging.getLogger(__name__)

_SILHOUETTE_SAMPLE = 1000  # rows of a cluster on which k is chosen
_FALLBACK_MAX_K = 10  # largest k tried over all rows when every row is an outlier
_N_INIT = 3  # k-means restarts
_OUTLIER_CONFIDENCE_CAP = 0.45  # an outlier's confidence is this times its cosine to the centroid
_MEMBER_QUANTILE = 0.05  # predict: a row below this quantile of members' cosines is outlier-like


class ProfileSegmenter(ClusterMixin, BaseEstimator):
    """Partition density clusters into segments and place every outlier in one.

    Args:
        max_segments_per_cluster: Most segments one density cluster is split into.
        min_segment_size: Fewest rows a segment made by a split may have.
        min_silhouette: Silhouette a split must reach to be kept.
        random_state: Seed of k-means; same data and seed give the same segments.

    Attributes:
        labels_: Segment of each row of the last ``fit``, 0..n_segments_-1; every row has one.
        parent_cluster_: Density cluster of each segment; -1 for a segment made of outliers only
            (in the fallback).
        centroids_: ``(n_segments_, d)`` L2-normalised mean of each segment's non-outlier rows
            (of all its rows in the fallback).
        confidence_: Confidence of each row's segment in [0, 1]: ``0.5 + 0.5 * cos`` to the
            centroid for cluster members, ``0.45 * cos`` (so < 0.5) for placed outliers.
        is_outlier_: True for rows whose cluster label was -1.
        n_segments_: Number of segments.
        fallback_: True when every row was an outlier and k-means ran over all rows.
        member_cosine_: Per segment, the 5 % quantile of its members' cosine to the centroid;
            ``predict`` gives a row below it an outlier's confidence (+inf in the fallback).
    """

    def __init__(self, max_segments_per_cluster: int = 4, min_segment_size: int = 5,
                 min_silhouette: float = 0.15, random_state: int | None = 0):
        self.max_segments_per_cluster = max_segments_per_cluster
        self.min_segment_size = min_segment_size
        self.min_silhouette = min_silhouette
        self.random_state = random_state

    def fit(self, X, cluster_labels):
        """Split each density cluster into segments and place the outliers.

        Args:
            X: ``(n_rows, d)`` profile vectors (the ones the clusters were found in, or any other).
            cluster_labels: Density cluster of each row, -1 for outliers.

        Returns:
            self
        """
        X = normalise_rows(validate_data(self, X, dtype=[np.float64, np.float32]))
        clusters = np.asarray(cluster_labels).astype(np.int64)
        if clusters.shape != (len(X),):
            raise ValueError(f"cluster_labels has shape {clusters.shape}, expected ({len(X)},)")
        self.is_outlier_ = clusters < 0
        self.fallback_ = bool(self.is_outlier_.all())
        if self.fallback_:
            logger.info("all %d rows are outliers: k-means over all rows", len(X))
        groups = [-1] if self.fallback_ else np.unique(clusters[~self.is_outlier_]).tolist()
        labels = np.full(len(X), -1)
        centroids, parents = [], []
        for cluster in groups:
            rows = np.flatnonzero(clusters == cluster)
            max_k = _FALLBACK_MAX_K if self.fallback_ else self.max_segments_per_cluster
            part, part_centroids = self._split(X[rows], max_k, cluster)
            labels[rows] = part + len(centroids)
            centroids.extend(part_centroids)
            parents.extend([cluster] * len(part_centroids))
        self.centroids_ = normalise_rows(np.array(centroids))
        self.parent_cluster_ = np.array(parents, dtype=np.int64)
        self.n_segments_ = len(centroids)
        cosines = X @ self.centroids_.T
        if not self.fallback_:
            labels[self.is_outlier_] = cosines[self.is_outlier_].argmax(axis=1)
        self.labels_ = labels
        own = cosines[np.arange(len(X)), labels]
        self.confidence_ = _confidence(own, ~self.is_outlier_)
        self.member_cosine_ = _member_cosine(own, labels, ~self.is_outlier_, self.n_segments_)
        return self

    def fit_predict(self, X, cluster_labels):
        """Fit and return ``labels_``."""
        return self.fit(X, cluster_labels).labels_

    def predict(self, X, cluster_labels=None) -> tuple[np.ndarray, np.ndarray]:
        """Place new rows in the segment with the nearest centroid.

        Args:
            X: ``(n_rows, d)`` array in the space ``fit`` saw.
            cluster_labels: Optional density cluster of each row (e.g. from
                ``DensityClusterer.predict``). A row of a known cluster then goes to the nearest
                segment *of that cluster* with a member's confidence, as in ``fit``; a row
                labelled -1 (or of an unknown cluster) is placed as an outlier.

        Returns:
            ``(labels, confidence)``. Without ``cluster_labels``, a row less similar to its
            centroid than most members of the segment gets an outlier's confidence (< 0.5).
        """
        check_is_fitted(self, "labels_")
        X = normalise_rows(validate_data(self, X, dtype=[np.float64, np.float32], reset=False))
        cosines = X @ self.centroids_.T
        if cluster_labels is None:
            labels = cosines.argmax(axis=1)
            own = cosines[np.arange(len(X)), labels]
            return labels, _confidence(own, own >= self.member_cosine_[labels])
        clusters = np.asarray(cluster_labels).astype(np.int64)
        allowed = (self.parent_cluster_[None, :] == clusters[:, None]) & (clusters[:, None] >= 0)
        is_member = allowed.any(axis=1)
        labels = np.where(is_member[:, None] & ~allowed, -np.inf, cosines).argmax(axis=1)
        return labels, _confidence(cosines[np.arange(len(X)), labels], is_member)

    def _split(self, X: np.ndarray, max_k: int, cluster: int) -> tuple[np.ndarray, list]:
        """Return the segment of each row of one cluster (largest first) and their centroids."""
        sample = X[content_sample(X, _SILHOUETTE_SAMPLE)]
        max_k = min(max_k, len(X) // max(self.min_segment_size, 1),
                    len(np.unique(sample.round(6), axis=0)), len(sample) - 1)
        distances = euclidean_distances(sample) if max_k >= 2 else None
        best_k, best_score, best_parts = 1, -1.0, np.zeros(len(X), dtype=np.int64)
        for k in range(2, max_k + 1):
            model = KMeans(n_clusters=k, n_init=_N_INIT, random_state=self.random_state)
            sample_parts = model.fit_predict(sample)
            parts = model.predict(X)
            if (len(np.unique(sample_parts)) < 2
                    or np.bincount(parts, minlength=k).min() < self.min_segment_size):
                continue
            score = silhouette_score(distances, sample_parts, metric="precomputed")
            if score > best_score:
                best_k, best_score, best_parts = k, score, parts
        if best_score < self.min_silhouette:
            best_k, best_parts = 1, np.zeros(len(X), dtype=np.int64)
        logger.info("cluster %d (%d rows): k=%d (best silhouette %.2f)", cluster, len(X), best_k,
                    best_score)
        order = np.argsort(-np.bincount(best_parts, minlength=best_k), kind="stable")
        parts = np.argsort(order)[best_parts]
        return parts, [X[parts == s].mean(axis=0) for s in range(best_k)]


def _member_cosine(cosine: np.ndarray, labels: np.ndarray, is_member: np.ndarray,
                   n_segments: int) -> np.ndarray:
    """Return per segment the low quantile of its members' cosines (+inf with no members)."""
    return np.array([np.quantile(cosine[(labels == s) & is_member], _MEMBER_QUANTILE)
                     if np.any((labels == s) & is_member) else np.inf
                     for s in range(n_segments)])


def _confidence(cosine: np.ndarray, is_member: np.ndarray) -> np.ndarray:
    """Return ``0.5 + 0.5 * cos`` for members and ``cap * cos`` (< 0.5) for outliers."""
    cosine = np.clip(cosine, 0.0, 1.0)
    return np.where(is_member, 0.5 + 0.5 * cosine, _OUTLIER_CONFIDENCE_CAP * cosine)
