import numpy as np
import pytest

from interestlens.tools.represent import (
    CHINESE_LEXICAL_WEIGHT,
    ENGLISH_LEXICAL_WEIGHT,
    fuse,
    lexical_weight_for,
    normalize_rows,
)


def unit(rows):
    return normalize_rows(np.asarray(rows, dtype=np.float32))


def test_fused_cosine_is_the_weighted_mix_of_both_cosines():
    rng = np.random.default_rng(0)
    neural, lexical = unit(rng.normal(size=(5, 8))), unit(rng.normal(size=(5, 4)))
    fused = fuse(neural, lexical, 0.7)
    expected = 0.3 * (neural @ neural.T) + 0.7 * (lexical @ lexical.T)
    np.testing.assert_allclose(fused @ fused.T, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)


def test_weight_zero_keeps_only_the_neural_geometry():
    rng = np.random.default_rng(1)
    neural, lexical = unit(rng.normal(size=(4, 6))), unit(rng.normal(size=(4, 3)))
    fused = fuse(neural, lexical, 0.0)
    np.testing.assert_allclose(fused @ fused.T, neural @ neural.T, atol=1e-5)


def test_zero_lexical_rows_stay_finite():
    fused = fuse(unit([[1, 0], [0, 1]]), np.zeros((2, 3), dtype=np.float32), 0.5)
    assert np.isfinite(fused).all()
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)


def test_weight_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="lexical_weight"):
        fuse(unit([[1, 0]]), unit([[1, 0]]), 1.5)


def test_lexical_weight_follows_the_chinese_share():
    assert lexical_weight_for({"en": 1.0}) == pytest.approx(ENGLISH_LEXICAL_WEIGHT)
    assert lexical_weight_for({"zh": 1.0}) == pytest.approx(CHINESE_LEXICAL_WEIGHT)
    half = lexical_weight_for({"zh": 0.5, "en": 0.5})
    assert ENGLISH_LEXICAL_WEIGHT < half < CHINESE_LEXICAL_WEIGHT


def test_a_neural_model_that_reads_chinese_keeps_the_english_weight():
    weight = lexical_weight_for({"zh": 1.0}, neural_reads_chinese=True)
    assert weight == pytest.approx(ENGLISH_LEXICAL_WEIGHT)


def test_fusion_gets_out_of_the_way_of_a_strong_neural_model():
    """Neural vectors that separate two topics stay separated after fusing noisy lexical ones."""
    rng = np.random.default_rng(3)
    truth = np.repeat([0, 1], 50)
    neural = unit(np.eye(16)[truth] + 0.3 * rng.normal(size=(100, 16)))
    lexical = unit(rng.normal(size=(100, 30)))  # carries nothing about the topics
    fused = fuse(neural, lexical, lexical_weight_for({"zh": 1.0}, neural_reads_chinese=True))
    nearest = np.argsort(-(fused @ fused.T), axis=1)[:, 1:6]
    assert np.mean(truth[nearest] == truth[:, None]) >= 0.95
