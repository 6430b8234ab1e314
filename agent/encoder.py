"""Put any text into the run's fused space: neural embedding ⊕ lexical LSA, at the run's weight."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interestlens.agent.embeddings import make_embedder
from interestlens.tools.clean import detect_language
from interestlens.tools.embed import Embedder, embed_with_cache
from interestlens.tools.features import LexicalEncoder
from interestlens.tools.records import Progress
from interestlens.tools.represent import fuse
from interestlens.tools.text import tokenize_many
from interestlens.vectorstore import Store

ARTIFACT = "fused_encoder"


@dataclass
class FusedEncoder:
    """The fitted text representation of one run; saved in the store for later queries.

    Lexical vectors are built from character 1-2-grams for Chinese and words for English
    (``tokenize_many(..., chinese="chars")``), whatever tokens the caller uses for keywords.
    The embedder is not saved: a loaded encoder builds it again from ``embedding_model`` and the
    current settings (so an endpoint key never lands in the store).
    """

    embedding_model: str
    embedding_batch_size: int
    lexical_encoder: LexicalEncoder
    lexical_weight: float

    def fit_encode(self, texts: list[str], languages: list[str], store: Store, *,
                   words: list[list[str]] | None = None,
                   progress: Progress | None = None) -> tuple[np.ndarray, int]:
        """Fit the lexical encoder on ``texts``, then return their vectors (see :meth:`encode`).

        ``words``, the texts' word tokens if the caller has them, spare cutting English twice.
        """
        terms = tokenize_many(texts, languages, chinese="chars", words=words, progress=progress)
        return self._fuse(texts, self.lexical_encoder.fit_transform(terms), store, progress)

    def encode(self, texts: list[str], store: Store, *, progress: Progress | None = None,
               languages: list[str] | None = None,
               terms: list[list[str]] | None = None) -> tuple[np.ndarray, int]:
        """Return fused unit vectors for ``texts`` and how many texts had to be embedded.

        ``languages`` (one code per text) are detected when not given; ``terms`` are the lexical
        terms of each text when the caller picks them (else the texts' character terms).
        """
        if terms is None:
            if languages is None:
                languages = [detect_language(t) for t in texts]
            terms = tokenize_many(texts, languages, chinese="chars")
        return self._fuse(texts, self.lexical_encoder.transform(terms), store, progress)

    def _fuse(self, texts: list[str], lexical: np.ndarray, store: Store,
              progress: Progress | None) -> tuple[np.ndarray, int]:
        neural, n_embedded = embed_texts(self.embedder, texts, store, progress)
        return fuse(neural, lexical, self.lexical_weight), n_embedded

    @property
    def embedder(self) -> Embedder:
        """The embedder, built once per process (from the environment's settings if not set)."""
        if getattr(self, "_embedder", None) is None:
            from interestlens.agent.settings import Settings

            settings = Settings(embedding_batch_size=self.embedding_batch_size)
            self._embedder = make_embedder(self.embedding_model, settings)
        return self._embedder

    def use_embedder(self, embedder: Embedder) -> FusedEncoder:
        """Embed with ``embedder`` (built from the run's settings) instead of building one."""
        self._embedder = embedder
        return self

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_embedder"}


def embed_texts(embedder: Embedder, texts: list[str], store: Store,
                progress: Progress | None) -> tuple[np.ndarray, int]:
    """Embed ``texts`` through the store's content-hash cache."""
    return embed_with_cache(
        texts, embedder=embedder,
        lookup=lambda hashes: store.cached_embeddings(embedder.model_id, hashes),
        save=lambda hashes, vectors: store.save_embeddings(embedder.model_id, hashes, vectors),
        progress=progress,
    )
