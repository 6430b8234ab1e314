"""Put any text into the run's fused space: neural embedding ⊕ lexical LSA, at the run's weight."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interestlens.tools.clean import detect_language
from interestlens.tools.embed import SentenceEmbedder, embed_with_cache
from interestlens.tools.features import LexicalEncoder
from interestlens.tools.records import Progress
from interestlens.tools.represent import fuse
from interestlens.tools.text import tokenize_many
from interestlens.vectorstore import Store

ARTIFACT = "fused_encoder"


@dataclass
class FusedEncoder:
    """The fitted text representation of one run; saved in the store for later queries."""

    embedding_model: str
    embedding_batch_size: int
    lexical_encoder: LexicalEncoder
    lexical_weight: float

    def encode(self, texts: list[str], store: Store, *, progress: Progress | None = None,
               tokens: list[list[str]] | None = None) -> tuple[np.ndarray, int]:
        """Return fused unit vectors for ``texts`` and how many texts had to be embedded."""
        neural, n_embedded = embed_texts(self.embedder, texts, store, progress)
        if tokens is None:
            tokens = tokenize_many(texts, [detect_language(t) for t in texts])
        return fuse(neural, self.lexical_encoder.transform(tokens), self.lexical_weight), n_embedded

    @property
    def embedder(self) -> SentenceEmbedder:
        """The sentence embedder, loaded once per process."""
        if getattr(self, "_embedder", None) is None:
            self._embedder = SentenceEmbedder(self.embedding_model,
                                              batch_size=self.embedding_batch_size)
        return self._embedder

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_embedder"}


def embed_texts(embedder: SentenceEmbedder, texts: list[str], store: Store,
                progress: Progress | None) -> tuple[np.ndarray, int]:
    """Embed ``texts`` through the store's content-hash cache."""
    return embed_with_cache(
        texts, embedder=embedder,
        lookup=lambda hashes: store.cached_embeddings(embedder.model_id, hashes),
        save=lambda hashes, vectors: store.save_embeddings(embedder.model_id, hashes, vectors),
        progress=progress,
    )
