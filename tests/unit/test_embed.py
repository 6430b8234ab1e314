from collections.abc import Sequence

import numpy as np
import pytest

from interestlens.tools.embed import (
    DEFAULT_MODEL,
    Embedder,
    SentenceEmbedder,
    embed_with_cache,
    text_hash,
)
from interestlens.tools.errors import ConfigError


@pytest.fixture(scope="module")
def minilm():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        embedder = SentenceEmbedder(batch_size=2)
        embedder.encode(["warm up"])
        yield embedder


def test_bundled_minilm_loads_offline_and_gives_unit_vectors(minilm):
    vectors = minilm.encode(["coffee beans", "今天天气很好", ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.dimension == 384


def test_similar_sentences_score_higher_than_unrelated_ones(minilm):
    a, b, c = minilm.encode([
        "How should I store whole coffee beans to keep them fresh?",
        "What is the best way to keep roasted coffee from going stale?",
        "Quantum error correction needs many physical qubits per logical qubit.",
    ])
    assert a @ b > a @ c + 0.2
    assert a @ b > b @ c + 0.2


def test_length_sorting_keeps_input_order(minilm):
    texts = ["a much longer sentence about brewing espresso with a manual lever machine",
             "tea", "hops and malt in a pale ale", "qubits", "ok"]
    reported = []
    together = minilm.encode(texts, progress=lambda *args: reported.append(args))
    one_by_one = np.vstack([minilm.encode([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert [done for _, done, _ in reported] == [2, 4, 5]
    assert {total for _, _, total in reported} == {5}


def test_model_id_names_model_and_truncation_and_aliases_share_it():
    short = SentenceEmbedder(max_seq_length=128)
    assert short.model_id == SentenceEmbedder(f"sentence-transformers/{DEFAULT_MODEL}").model_id
    assert short.model_id != SentenceEmbedder(max_seq_length=256).model_id
    assert "MiniLM" in short.model_id
    assert not hasattr(short, "model_")  # reading model_id loads nothing


def test_unknown_model_is_a_one_line_config_error(monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError, match="no-such-org/no-such-model") as caught:
        SentenceEmbedder("no-such-org/no-such-model").encode(["x"])
    assert "\n" not in str(caught.value)


def test_missing_local_model_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="missing-model"):
        SentenceEmbedder(str(tmp_path / "missing-model")).encode(["x"])


class CountingEmbedder:
    """Deterministic fake: a vector from the text's hash, recording every text it embeds."""

    model_id = "fake:1"

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        self.seen += list(texts)
        rows = [np.random.default_rng(int(text_hash(t)[:8], 16)).normal(size=8) for t in texts]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)
        if progress is not None:
            progress("embed", len(texts), len(texts))
        return vectors


def dict_cache():
    cache: dict[str, np.ndarray] = {}
    saves: list[int] = []

    def lookup(hashes):
        return {h: cache[h] for h in hashes if h in cache}

    def save(hashes, vectors):
        saves.append(len(hashes))
        cache.update(zip(hashes, vectors, strict=True))

    return cache, saves, lookup, save


def test_embed_with_cache_embeds_each_distinct_text_once_then_never():
    embedder = CountingEmbedder()
    assert isinstance(embedder, Embedder)
    cache, _, lookup, save = dict_cache()
    texts = ["beer", "coffee", "beer", "tea", "coffee"]
    first, n_first = embed_with_cache(texts, embedder=embedder, lookup=lookup, save=save)
    assert n_first == 3
    assert sorted(embedder.seen) == ["beer", "coffee", "tea"]
    assert first.shape == (5, 8)
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[3], embedder.encode(["tea"])[0])
    embedder.seen.clear()
    again, n_again = embed_with_cache(texts, embedder=embedder, lookup=lookup, save=save)
    assert n_again == 0
    assert embedder.seen == []
    np.testing.assert_array_equal(again, first)
    assert len(cache) == 3


def test_embed_with_cache_saves_in_chunks_and_reports_whole_run_progress():
    embedder = CountingEmbedder()
    _, saves, lookup, save = dict_cache()
    embed_with_cache(["a"], embedder=embedder, lookup=lookup, save=save)
    reported = []
    texts = ["a", "b", "c", "d", "e", "f"]
    vectors, n_new = embed_with_cache(
        texts, embedder=embedder, lookup=lookup, save=save,
        progress=lambda *args: reported.append(args), save_every=2,
    )
    assert n_new == 5
    assert saves == [1, 2, 2, 1]
    assert [(done, total) for _, done, total in reported] == [(2, 5), (4, 5), (5, 5)]
    assert vectors.shape == (6, 8)


def test_text_hash_is_sha1_of_utf8():
    assert text_hash("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert text_hash("咖啡") != text_hash("咖 啡")
    assert len(text_hash("咖啡")) == 40
