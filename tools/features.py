"""Text features over token lists: class keywords (c-TF-IDF), LDA topics and LSA vectors.

Every stage takes documents already tokenized by :func:`interestlens.tools.text.tokenize_many`
(one ``list[str]`` per document) and follows the scikit-learn estimator contract.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable, Sequence
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import LatentDirichletAllocation, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from interestlens.tools.text import has_letter

logger = logging.getLogger(__name__)

Docs = Sequence[Sequence[str]]


def _ngrams(tokens: Sequence[str], ngram_range: tuple[int, int] = (1, 1)) -> list[str]:
    """Return the word n-grams of one token list (n-gram words joined by a space)."""
    low, high = ngram_range
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def _count_vectorizer(**options) -> CountVectorizer:
    return CountVectorizer(analyzer=_ngrams, **options)


class ClassTfidf(BaseEstimator):
    """Keywords per class with c-TF-IDF, as in BERTopic's ``ClassTfidfTransformer``.

    All documents of a class are pooled; a word's weight in a class is its share of the class's
    words times ``idf = log(1 + A / f)``, where ``A`` is the average number of words per class and
    ``f`` the word's frequency over all classes.

    Args:
        min_df: Ignore words found in fewer documents than this.
        bm25_weighting: Use the BM25-style idf ``log(1 + (A - f + 0.5) / (f + 0.5))``.
        reduce_frequent_words: Take the square root of the term frequencies.

    Attributes:
        classes_: Sorted distinct labels; row ``i`` of ``matrix_`` belongs to ``classes_[i]``.
        vocabulary_: Word -> column of ``matrix_``.
        matrix_: Sparse ``(n_classes, n_words)`` c-TF-IDF weights.
    """

    def __init__(
        self, min_df: int = 1, bm25_weighting: bool = False, reduce_frequent_words: bool = False
    ):
        self.min_df = min_df
        self.bm25_weighting = bm25_weighting
        self.reduce_frequent_words = reduce_frequent_words

    def fit(self, docs: Docs, labels: Sequence[Hashable]) -> ClassTfidf:
        """Learn the c-TF-IDF weights of each class's words.

        Raises:
            ValueError: If ``docs`` and ``labels`` differ in length, or no word is left.
        """
        if len(docs) != len(labels):
            raise ValueError(f"{len(docs)} documents but {len(labels)} labels")
        self.classes_, rows = np.unique(np.asarray(labels), return_inverse=True)
        vectorizer = _count_vectorizer(min_df=self.min_df)
        counts = vectorizer.fit_transform(docs)
        n_docs = len(rows)
        membership = sp.csr_matrix(
            (np.ones(n_docs), (rows, np.arange(n_docs))), shape=(len(self.classes_), n_docs)
        )
        class_counts = (membership @ counts).astype(float)
        self.vocabulary_ = vectorizer.vocabulary_
        self.matrix_ = self._weigh(sp.csr_matrix(class_counts))
        return self

    def _weigh(self, class_counts: sp.csr_matrix) -> sp.csr_matrix:
        frequency = np.asarray(class_counts.sum(axis=0)).ravel()
        average = max(float(class_counts.sum(axis=1).mean()), 1.0)
        if self.bm25_weighting:
            idf = np.log(1 + (average - frequency + 0.5) / (frequency + 0.5))
        else:
            idf = np.log(1 + average / frequency)
        tf = normalize(class_counts, norm="l1", axis=1)
        if self.reduce_frequent_words:
            tf.data = np.sqrt(tf.data)
        return sp.csr_matrix(tf @ sp.diags(idf))

    def top_keywords(
        self, n: int = 10, diversity: float = 0.3
    ) -> dict[Hashable, list[tuple[str, float]]]:
        """Pick up to ``n`` words per class that are characteristic of it and not of the others.

        A word's relevance in a class is its weight divided by the class's largest weight; it is
        penalised by ``diversity`` times its largest relevance in any other class (MMR-style).
        Only words with a positive weight in the class and at least one letter are chosen.

        Args:
            n: Words per class.
            diversity: 0 ranks by c-TF-IDF alone; 1 strongly favours words unique to a class.

        Returns:
            ``{label: [(word, adjusted_relevance), ...]}``, best first, words distinct per class.
        """
        check_is_fitted(self, "matrix_")
        words = np.empty(len(self.vocabulary_), dtype=object)
        for word, column in self.vocabulary_.items():
            words[column] = word
        letters = sp.diags([1.0 if has_letter(word) else 0.0 for word in words])
        relevance = normalize(sp.csr_matrix(self.matrix_ @ letters), norm="max", axis=1)
        relevance.eliminate_zeros()
        best, best_row, runner_up = _column_top_two(relevance)
        keywords = {}
        for row, label in enumerate(self.classes_.tolist()):
            start, stop = relevance.indptr[row], relevance.indptr[row + 1]
            columns, own = relevance.indices[start:stop], relevance.data[start:stop]
            penalty = np.where(best_row[columns] == row, runner_up[columns], best[columns])
            adjusted = own - diversity * penalty
            order = np.argsort(-adjusted, kind="stable")[:n]
            keywords[label] = [(str(words[columns[i]]), float(adjusted[i])) for i in order]
        return keywords


def _column_top_two(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each column's largest value, the row holding it, and its second-largest value."""
    best = matrix.max(axis=0).toarray().ravel()
    best_row = np.asarray(matrix.argmax(axis=0)).ravel()
    rest = matrix.tocoo(copy=True)
    rest.data[rest.row == best_row[rest.col]] = 0.0
    runner_up = rest.tocsr().max(axis=0).toarray().ravel()
    return best, best_row, runner_up


class TopicModel(BaseEstimator):
    """LDA topics over token lists (scikit-learn ``LatentDirichletAllocation``, online learning).

    Args:
        n_topics: Topics to find; fewer are used when there are fewer non-empty documents.
        max_features: Vocabulary size (most frequent words).
        n_top_words: Words listed per topic in ``topic_words_``.
        max_iter: Passes over the data.
        batch_size: Documents per online update.
        max_fit_docs: Fit on a random sample of at most this many documents (all when ``None``);
            :meth:`transform` still covers every document.
        random_state: Seed of the sample and of LDA; the same data and seed give the same topics.

    Attributes:
        n_topics_: Topics actually used.
        topic_words_: Top words of each topic, most probable first.
        vectorizer_: The fitted word counter, or ``None`` when no word was found.
        model_: The fitted LDA model, or ``None`` when no word was found.
    """

    def __init__(
        self,
        n_topics: int = 10,
        max_features: int = 5_000,
        n_top_words: int = 10,
        max_iter: int = 5,
        batch_size: int = 1024,
        max_fit_docs: int | None = 20_000,
        random_state: int | None = 0,
    ):
        self.n_topics = n_topics
        self.max_features = max_features
        self.n_top_words = n_top_words
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.max_fit_docs = max_fit_docs
        self.random_state = random_state

    def fit(self, docs: Docs, y=None) -> TopicModel:
        """Learn the topics of ``docs``."""
        sample = [doc for doc in self._sample(docs) if len(doc)]
        self.n_topics_ = max(1, min(self.n_topics, len(sample)))
        self.vectorizer_ = self.model_ = None
        self.topic_words_ = [[]]
        if not sample:
            return self
        self.vectorizer_ = _count_vectorizer(max_features=self.max_features)
        counts = self.vectorizer_.fit_transform(sample)
        self.model_ = LatentDirichletAllocation(
            n_components=self.n_topics_,
            learning_method="online",
            max_iter=self.max_iter,
            batch_size=self.batch_size,
            random_state=self.random_state,
        ).fit(counts)
        vocabulary = self.vectorizer_.get_feature_names_out()
        order = np.argsort(-self.model_.components_, axis=1)[:, : self.n_top_words]
        self.topic_words_ = [vocabulary[row].tolist() for row in order]
        return self

    def _sample(self, docs: Docs) -> Docs:
        if self.max_fit_docs is None or len(docs) <= self.max_fit_docs:
            return docs
        rng = np.random.default_rng(self.random_state)
        return [docs[i] for i in np.sort(rng.choice(len(docs), self.max_fit_docs, replace=False))]

    def transform(self, docs: Docs) -> np.ndarray:
        """Return each document's topic distribution, ``(n_docs, n_topics_)``; rows sum to 1."""
        check_is_fitted(self, "n_topics_")
        if self.model_ is None:
            return np.ones((len(docs), 1))
        distribution = self.model_.transform(self.vectorizer_.transform(docs))
        return distribution / distribution.sum(axis=1, keepdims=True)

    def fit_transform(self, docs: Docs, y=None) -> np.ndarray:
        """Fit, then return the topic distribution of ``docs``."""
        return self.fit(docs).transform(docs)


class LexicalEncoder(TransformerMixin, BaseEstimator):
    """Dense lexical vectors (LSA): TF-IDF over tokens, truncated SVD, then L2 normalisation.

    Args:
        n_components: Output dimensions; fewer when the vocabulary is small.
        min_df: Ignore words found in fewer documents than this.
        max_df: Ignore words found in a larger share of documents than this.
        max_features: Vocabulary size (most frequent words).
        ngram_range: Word n-gram lengths, e.g. ``(1, 2)`` to add adjacent word pairs.
        random_state: Kept for the estimator contract. The fit is deterministic: the float32 SVD
            (twice as fast as float64) runs on the rows in an order fixed by their content, from
            a fixed start vector, so any seed or input order gives the same vectors bit for bit
            (the density clusterer samples rows by a hash of their content).

    Attributes:
        vectorizer_: The fitted TF-IDF vectorizer (``None`` when no document has a word). When
            ``min_df``/``max_df`` would leave no word (tiny corpora), every word is kept instead.
        svd_: The fitted SVD (exact, ARPACK, float32), or ``None`` when there are fewer than three
            words or documents.
        n_components_: Dimensions of the output vectors.
    """

    def __init__(
        self,
        n_components: int = 100,
        min_df: int | float = 2,
        max_df: int | float = 0.5,
        max_features: int | None = 50_000,
        ngram_range: tuple[int, int] = (1, 1),
        random_state: int | None = 0,
    ):
        self.n_components = n_components
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.random_state = random_state

    def _vectorizer(self, min_df, max_df) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer=partial(_ngrams, ngram_range=self.ngram_range),
            sublinear_tf=True,
            dtype=np.float32,
            min_df=min_df,
            max_df=max_df,
            max_features=self.max_features,
        )

    def fit(self, docs: Docs, y=None) -> LexicalEncoder:
        """Learn the vocabulary, idf and SVD basis of ``docs``."""
        self.fit_transform(docs)
        return self

    def fit_transform(self, docs: Docs, y=None) -> np.ndarray:
        """Fit on ``docs`` and return their vectors (see :meth:`transform`)."""
        self.vectorizer_, tfidf = self._fit_tfidf(docs)
        n_words = tfidf.shape[1]
        self.svd_ = None
        self.n_components_ = max(n_words, 1)
        if min(n_words, len(docs)) < 3:
            return self._finish(tfidf.toarray() if n_words else np.zeros((len(docs), 1)))
        n_components = min(self.n_components, n_words - 1, len(docs) - 1)
        # ARPACK, not randomized SVD: the basis then depends on the data only (up to signs, which
        # leave cosines unchanged), so a new seed or row order gives the same geometry.
        self.svd_ = TruncatedSVD(n_components, algorithm="arpack", random_state=0)
        tfidf.sort_indices()  # also the order within rows decides the float32 sums' last bits
        order = _content_order(tfidf)
        vectors = np.empty((len(docs), n_components), dtype=tfidf.dtype)
        vectors[order] = self.svd_.fit_transform(tfidf[order])
        self.n_components_ = n_components
        return self._finish(vectors)

    def _fit_tfidf(self, docs: Docs) -> tuple[TfidfVectorizer | None, sp.csr_matrix]:
        for min_df, max_df in ((self.min_df, self.max_df), (1, 1.0)):
            vectorizer = self._vectorizer(min_df, max_df)
            try:
                return vectorizer, vectorizer.fit_transform(docs)
            except ValueError:  # pruning left no word, or no document has a word
                logger.info("LexicalEncoder: no word left with min_df=%s max_df=%s", min_df, max_df)
        return None, sp.csr_matrix((len(docs), 0))

    def transform(self, docs: Docs) -> np.ndarray:
        """Return float32 vectors of shape ``(n_docs, n_components_)``.

        Rows have unit length, or are zero for documents with no known word.
        """
        check_is_fitted(self, "n_components_")
        if self.vectorizer_ is None:
            return np.zeros((len(docs), 1), dtype=np.float32)
        tfidf = self.vectorizer_.transform(docs)
        return self._finish(tfidf.toarray() if self.svd_ is None else self.svd_.transform(tfidf))

    @staticmethod
    def _finish(vectors: np.ndarray) -> np.ndarray:
        return normalize(np.asarray(vectors)).astype(np.float32)


def _content_order(matrix: sp.csr_matrix) -> np.ndarray:
    """Return the row indices ordered by a hash of each row's content (columns and values).

    ``matrix`` must have sorted indices, so equal rows hash alike.
    """
    starts, stops = matrix.indptr[:-1], matrix.indptr[1:]
    keys = np.fromiter(
        (int.from_bytes(hashlib.blake2b(matrix.indices[a:b].tobytes() + matrix.data[a:b].tobytes(),
                                        digest_size=8).digest(), "big")
         for a, b in zip(starts, stops, strict=True)),
        dtype=np.uint64, count=matrix.shape[0])
    return np.argsort(keys, kind="stable")


def mean_by_group(rows: np.ndarray, groups: Sequence[Hashable],
                  group_ids: Sequence[Hashable]) -> np.ndarray:
    """Return the mean of ``rows`` over each group, one row per id of ``group_ids``, in order.

    Used for each user's topic distribution (the mean of their events' distributions, so rows
    that sum to 1 give means that sum to 1). A group with no row gets zeros.
    """
    index = {group: i for i, group in enumerate(group_ids)}
    position = np.array([index.get(group, -1) for group in groups], dtype=np.int64)
    keep = position >= 0
    membership = sp.csr_matrix((np.ones(int(keep.sum())), (position[keep], np.flatnonzero(keep))),
                               shape=(len(group_ids), len(rows)))
    counts = np.asarray(membership.sum(axis=1)).ravel()
    sums = np.asarray(membership @ np.asarray(rows, dtype=np.float64))
    return sums / np.maximum(counts, 1)[:, None]
