"""Embedders chosen by configuration: local sentence-transformers, or an OpenAI-compatible endpoint.

Any server speaking ``POST /v1/embeddings`` works (OpenAI, DashScope, vLLM, Ollama, llama.cpp).
``embedding_model = "openai:<model>"`` selects the endpoint at ``embedding_base_url`` (else the
LLM's ``llm_base_url``) with ``embedding_api_key`` (else ``llm_api_key``). The client is built at
the first ``encode``, never at construction, and lives here because ``tools/`` may not import
``openai``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interestlens.tools.embed import Embedder, SentenceEmbedder
from interestlens.tools.errors import ConfigError, LLMError
from interestlens.tools.records import Progress

if TYPE_CHECKING:
    from interestlens.agent.settings import Settings

logger = logging.getLogger(__name__)

OPENAI_PREFIX = "openai:"


class OpenAIEmbedder:
    """Embed texts with an OpenAI-compatible embeddings endpoint; rows are L2-normalised.

    Args:
        model: Model name the endpoint serves, e.g. "text-embedding-3-small".
        base_url: Endpoint root, e.g. "http://localhost:8000/v1".
        api_key: Key sent as a bearer token (any non-empty value for local servers).
        batch_size: Texts per request.
        timeout_s: Seconds per request.
        max_retries: Retries of a failed request (the client backs off between them).
    """

    def __init__(self, model: str, *, base_url: str, api_key: str | None = None,
                 batch_size: int = 128, timeout_s: float = 60.0, max_retries: int = 3):
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.max_retries = max_retries

    @property
    def model_id(self) -> str:
        """Identify endpoint and model, e.g. ``openai:http://host/v1:bge-m3:l2`` (a cache key)."""
        return f"{OPENAI_PREFIX}{self.base_url.rstrip('/')}:{self.model}:l2"

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Return one unit float32 vector per text, in input order.

        Raises:
            LLMError: The endpoint failed after the retries, or answered with a wrong count.
        """
        import openai

        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        client = self._client()
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                answer = client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as err:
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise LLMError(f"embedding endpoint {self.base_url} ({self.model}): "
                               f"{first}") from None
            rows = sorted(answer.data, key=lambda row: row.index)
            if len(rows) != len(batch):
                raise LLMError(f"embedding endpoint {self.base_url} ({self.model}): "
                               f"{len(rows)} vectors for {len(batch)} texts")
            parts.append(np.asarray([row.embedding for row in rows], dtype=np.float32))
            if progress is not None:
                progress("embed", min(start + self.batch_size, len(texts)), len(texts))
        vectors = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def _client(self):
        if getattr(self, "client_", None) is None:
            import openai

            self.client_ = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "none",
                                         timeout=self.timeout_s, max_retries=self.max_retries)
        return self.client_


def is_openai_model(model: str) -> bool:
    """Return whether ``model`` names an OpenAI-compatible endpoint model ("openai:<name>")."""
    return model.startswith(OPENAI_PREFIX)


def make_embedder(model: str, settings: Settings) -> Embedder:
    """Build the embedder ``model`` names, with the endpoint and key of ``settings``.

    Raises:
        ConfigError: An "openai:" model without a model name or without a base URL.
    """
    if not is_openai_model(model):
        return SentenceEmbedder(model, batch_size=settings.embedding_batch_size)
    name = model[len(OPENAI_PREFIX):].strip()
    base_url = settings.embedding_base_url or settings.llm_base_url
    if not name or not base_url:
        raise ConfigError(f"embedding model {model!r} needs a model name after 'openai:' and "
                          "embedding_base_url (INTERESTLENS_EMBEDDING_BASE_URL) or "
                          "OPENAI_BASE_URL")
    key = settings.embedding_api_key or settings.llm_api_key
    return OpenAIEmbedder(name, base_url=base_url,
                          api_key=key.get_secret_value() if key is not None else None,
                          batch_size=settings.embedding_batch_size,
                          timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
