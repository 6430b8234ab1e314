"""Zero-shot interest labels: score users and segments against a list of labels the user gives.

Labels and rows live in the same fused space (the run's encoder embeds the labels too, so Chinese
labels are matched by their characters as well as by the neural model, which is English-only by
default). A label's own vector is a weak prototype (one or two words against whole reviews), so
:class:`ZeroShotLabeler` adapts it to the data, without any labelled example:

1. every row goes to the label it is most similar to, after each label's cosines are
   standardised over the rows (a label whose vector is close to everything does not win
   everywhere);
2. each label's direction becomes its own vector plus the mean of the rows it won, weighted by
   ``anchor`` (a seeded spherical k-means that stays anchored on the label's meaning);
3. repeat until no row changes label (at most ``n_iter`` times). Scores are the softmax over
   labels of the standardised cosines.

Tuned on 2,959 reviews of online_shopping_10_cats that are not in the benchmark sample, with the
10 category names as labels: per-review accuracy 0.53 for the raw cosine; adapted, 0.59 with
``anchor`` 1, 0.63 with 0.5, 0.69 with 0.1 (the default), 0.67 with 0.05.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from interestlens.tools.records import LabelScore

logger = logging.getLogger(__name__)


class ZeroShotLabeler(BaseEstimator):
    """Adapt label vectors to the rows of one run and score rows against them.

    Args:
        anchor: Weight of a label's own vector against the mean of the rows it won (both before
            normalisation; the mean of unit rows is much shorter than 1, so 0.1 still counts).
        n_iter: Most assignment/update passes; stops earlier when no row changes label.

    Attributes:
        centroids_: ``(n_labels, d)`` adapted, L2-normalised label directions.
        mean_: Mean cosine of the fit rows to each adapted label, ``(n_labels,)``.
        scale_: Standard deviation of those cosines (1 where it is 0).
        n_iter_: Passes run.
    """

    def __init__(self, anchor: float = 0.1, n_iter: int = 30):
        self.anchor = anchor
        self.n_iter = n_iter

    def fit(self, X: np.ndarray, label_vectors: np.ndarray) -> ZeroShotLabeler:
        """Adapt ``label_vectors`` (``(n_labels, d)``) to the rows of ``X`` (``(n_rows, d)``).

        Raises:
            ValueError: No label, or label vectors of another width than ``X``.
        """
        X, labels = _unit(X), _unit(label_vectors)
        if labels.ndim != 2 or len(labels) == 0 or labels.shape[1] != X.shape[1]:
            raise ValueError(f"label vectors of shape {labels.shape} for rows of width "
                             f"{X.shape[1]}")
        self.centroids_, assigned = labels, None
        self.n_iter_ = 0
        for _ in range(self.n_iter):
            self._calibrate(X)
            winner = self.standardised(X).argmax(axis=1)
            self.n_iter_ += 1
            if assigned is not None and np.array_equal(winner, assigned):
                break
            assigned = winner
            sums = np.zeros_like(labels)
            np.add.at(sums, winner, X)
            counts = np.bincount(winner, minlength=len(labels))[:, None]
            self.centroids_ = _unit(self.anchor * labels + sums / np.maximum(counts, 1))
        self._calibrate(X)
        logger.info("zero-shot labels adapted in %d passes", self.n_iter_)
        return self

    def _calibrate(self, X: np.ndarray) -> None:
        cosines = X @ self.centroids_.T
        self.mean_ = cosines.mean(axis=0) if len(X) else np.zeros(len(self.centroids_))
        scale = cosines.std(axis=0) if len(X) else np.ones(len(self.centroids_))
        self.scale_ = np.where(scale > 0, scale, 1.0)

    def standardised(self, X: np.ndarray) -> np.ndarray:
        """Return each row's cosine to each label, standardised per label over the fit rows."""
        check_is_fitted(self, "centroids_")
        return (_unit(X) @ self.centroids_.T - self.mean_) / self.scale_

    def score(self, X: np.ndarray) -> np.ndarray:
        """Return ``(n_rows, n_labels)`` scores in [0, 1], each row summing to 1 (softmax)."""
        z = self.standardised(X)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


def top_labels(scores: np.ndarray, labels: Sequence[str],
               k: int = 3) -> list[tuple[LabelScore, ...]]:
    """Return each row's ``k`` best labels with their scores, best first, scores rounded to 3."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [tuple(LabelScore(label=labels[j], score=round(float(row[j]), 3)) for j in picks)
            for row, picks in zip(scores, order)]


def parse_labels(text: str) -> tuple[str, ...]:
    """Split a label list given as text: commas (ASCII or Chinese) or new lines; blanks dropped.

    Repeated labels are kept once, in first-seen order.
    """
    parts = text.replace("，", ",").replace("\n", ",").split(",")
    return tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def format_labels(labels: Sequence[LabelScore]) -> str:
    """Return labels as one line, e.g. ``"咖啡 0.81, 茶 0.12"`` (empty when there are none)."""
    return ", ".join(f"{item.label} {item.score:.2f}" for item in labels)
