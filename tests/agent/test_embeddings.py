"""The OpenAI-compatible embeddings client against a local fake ``/v1/embeddings`` server."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from interestlens.agent import Assistant, ConfigError, LLMError, Settings
from interestlens.agent.embeddings import OpenAIEmbedder, make_embedder

DIM = 64


def bag_of_words(text: str) -> list[float]:
    """A topical vector: each lower-cased word (or CJK character) hashed into one of 64 dims."""
    vector = np.zeros(DIM)
    for token in text.lower().split() + [c for c in text if "\u4e00" <= c <= "\u9fff"]:
        vector[int(hashlib.md5(token.encode()).hexdigest(), 16) % DIM] += 1.0
    return (vector * 3.0).tolist()  # not unit length: the client must normalise


class FakeEmbeddings:
    """A local server answering ``POST /v1/embeddings``; ``status`` != 200 answers an error."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []  # the authorization header of each request
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append({"authorization": self.headers.get("Authorization")})
                if fake.status != 200:
                    payload = {"error": {"message": "model overloaded", "type": "fake"}}
                else:
                    inputs = body["input"]
                    data = [{"object": "embedding", "index": i, "embedding": bag_of_words(t)}
                            for i, t in enumerate(inputs)]
                    payload = {"object": "list", "data": data[::-1],  # out of order on purpose
                               "model": body["model"],
                               "usage": {"prompt_tokens": 1, "total_tokens": 1}}
                raw = json.dumps(payload).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_embeddings():
    fake = FakeEmbeddings()
    yield fake
    fake.close()


def settings_for(fake: FakeEmbeddings, tmp_path, **overrides) -> Settings:
    return Settings(store_dir=tmp_path / "store", embedding_model="openai:fake-embed",
                    embedding_base_url=fake.url, embedding_api_key="sk-test",
                    embedding_batch_size=4, llm_max_retries=0, llm_base_url=None,
                    llm_api_key=None, llm_model=None, **overrides)


def test_vectors_are_unit_rows_in_input_order_sent_in_batches(fake_embeddings, tmp_path):
    embedder = make_embedder("openai:fake-embed", settings_for(fake_embeddings, tmp_path))
    assert isinstance(embedder, OpenAIEmbedder)
    texts = ["espresso grinder", "trail boots", "手冲咖啡", "espresso grinder", "tent", "bokeh"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (6, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    expected = np.array([bag_of_words(t) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert [len(r["input"]) for r in fake_embeddings.requests] == [4, 2]
    assert {r["model"] for r in fake_embeddings.requests} == {"fake-embed"}
    assert fake_embeddings.headers[0]["authorization"] == "Bearer sk-test"
    assert embedder.model_id == f"openai:{fake_embeddings.url}:fake-embed:l2"


def test_endpoint_failure_is_one_line_llm_error(fake_embeddings, tmp_path):
    fake_embeddings.status = 503
    embedder = make_embedder("openai:fake-embed", settings_for(fake_embeddings, tmp_path))
    with pytest.raises(LLMError, match=r"embedding endpoint http://127\.0\.0\.1:\d+/v1 "
                                       r"\(fake-embed\): .*overloaded") as caught:
        embedder.encode(["a text"])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("model", ["openai:", "openai:fake-embed"])
def test_openai_model_without_name_or_endpoint_is_a_config_error(model, tmp_path):
    settings = Settings(store_dir=tmp_path, embedding_model=model, embedding_base_url=None,
                        llm_base_url=None)
    with pytest.raises(ConfigError, match="needs a model name after 'openai:'"):
        make_embedder(model, settings)


@pytest.mark.slow
def test_a_run_uses_the_endpoint_and_the_fusion_gets_out_of_the_way(
        fake_embeddings, tmp_path, demo, demo_events):
    settings = settings_for(fake_embeddings, tmp_path, interests=("咖啡", "camera"))
    with Assistant(settings=settings) as assistant:
        result = assistant.run(demo_events, out_dir=tmp_path / "out")
        again = assistant.run(demo_events)
    summary = result.summary
    assert summary.embedding_model == f"openai:{fake_embeddings.url}:fake-embed:l2"
    assert summary.lexical_weight == pytest.approx(0.3)  # the endpoint reads Chinese
    assert summary.n_embedded > 0 and again.summary.n_embedded == 0  # cached by model id
    truth = result.users["user"].map(demo.groups)
    assert normalized_mutual_info_score(truth, result.users["segment"]) >= 0.6
    assert {"top_label", "label_scores"} <= set(result.users.columns)
