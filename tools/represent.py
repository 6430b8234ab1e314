"""Fuse neural sentence embeddings with lexical (LSA) vectors into one representation.

MiniLM, the default embedding model, is English-only: on Chinese text its vectors cluster badly,
so the fused representation leans on lexical features (character 1-2-grams for Chinese) as the
Chinese share grows. A model that reads Chinese (``neural_reads_chinese``, e.g. an embeddings
endpoint) keeps the English weight for every language: lexical features then only add what
exact wording shares, and the neural geometry dominates (the fusion gets out of the way).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

ENGLISH_LEXICAL_WEIGHT = 0.3
CHINESE_LEXICAL_WEIGHT = 0.85


def lexical_weight_for(language_share: Mapping[str, float], *,
                       neural_reads_chinese: bool = False) -> float:
    """Return the lexical weight for a corpus from the share of each language in it.

    Args:
        language_share: Share of each language code ("zh", "en", ...) in the corpus.
        neural_reads_chinese: The neural model is multilingual: Chinese then gets the English
            weight too.
    """
    if neural_reads_chinese:
        return ENGLISH_LEXICAL_WEIGHT
    zh = float(language_share.get("zh", 0.0))
    return ENGLISH_LEXICAL_WEIGHT + (CHINESE_LEXICAL_WEIGHT - ENGLISH_LEXICAL_WEIGHT) * zh


def fuse(neural: np.ndarray, lexical: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Concatenate two L2-normalised blocks so that cosine = (1-w)·cos_neural + w·cos_lexical.

    Both inputs must have unit rows (zero rows are allowed); the output has unit rows too.
    """
    if not 0.0 <= lexical_weight <= 1.0:
        raise ValueError(f"lexical_weight must be in [0, 1], got {lexical_weight}")
    fused = np.hstack([
        np.sqrt(1.0 - lexical_weight) * np.asarray(neural, dtype=np.float32),
        np.sqrt(lexical_weight) * np.asarray(lexical, dtype=np.float32),
    ])
    return normalize_rows(fused)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Return ``matrix`` with unit-length rows (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)
