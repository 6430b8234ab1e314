"""LLM client against the local fake server: cache, retries, timeouts, validation, budgets."""

from __future__ import annotations

import pytest
from agent_fakes import http_error, reply, slow
from pydantic import BaseModel

from interestlens.agent.llm import (
    InvalidReply,
    LLMClient,
    LLMConfig,
    estimate_tokens,
    fit_texts,
    parse_json_reply,
    truncate_to_tokens,
)
from interestlens.agent.prompts import load_prompt
from interestlens.agent.settings import Settings
from interestlens.tools.errors import LLMError

PROMPT = load_prompt("rationale", "en")
MESSAGES = PROMPT.messages(data='{"user_interests": ["espresso"], "item": "grinder"}')


class Answer(BaseModel):
    reason: str


def test_no_endpoint_means_offline(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "INTERESTLENS_LLM_MODEL",
                 "INTERESTLENS_LLM_BASE_URL", "INTERESTLENS_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert LLMClient.from_settings(Settings()) is None


def test_config_comes_from_settings_and_hides_the_key(tmp_path):
    # The aliases are what the environment uses (field names need populate_by_name).
    settings = Settings(store_dir=tmp_path, INTERESTLENS_LLM_MODEL="m",
                        INTERESTLENS_LLM_BASE_URL="http://x/v1",
                        INTERESTLENS_LLM_API_KEY="sk-secret")
    config = LLMConfig.from_settings(settings)
    assert (config.model, config.base_url, config.cache_dir) == ("m", "http://x/v1",
                                                                 tmp_path / "llm_cache")
    assert "sk-secret" not in repr(config) and "sk-secret" not in LLMClient(config).where


def test_valid_reply_is_cached_on_disk_and_reused(fake_llm, make_client):
    fake_llm.script.append(reply('{"reason": "You like espresso."}'))
    first = make_client().complete(MESSAGES, prompt=PROMPT, schema=Answer)
    second = make_client().complete(MESSAGES, prompt=PROMPT, schema=Answer)  # new client, same dir
    assert first == second == Answer(reason="You like espresso.")
    assert len(fake_llm.requests) == 1
    body = fake_llm.requests[0]
    assert body["model"] == "fake-model" and body["messages"][0]["role"] == "system"


def test_cache_key_changes_with_model_temperature_and_schema(make_client):
    class Other(BaseModel):
        reason: str
        extra: int = 0

    key = make_client().cache_key(MESSAGES, prompt=PROMPT, schema=Answer)
    assert key != make_client(model="other").cache_key(MESSAGES, prompt=PROMPT, schema=Answer)
    assert key != make_client(temperature=0.9).cache_key(MESSAGES, prompt=PROMPT, schema=Answer)
    assert key != make_client().cache_key(MESSAGES, prompt=PROMPT, schema=Other)
    assert key == make_client().cache_key(list(MESSAGES), prompt=PROMPT, schema=Answer)


def test_invalid_reply_is_not_cached(fake_llm, make_client):
    fake_llm.script.extend([reply("not json at all"), reply('{"reason": "ok"}')])
    with pytest.raises(InvalidReply, match="no JSON object"):
        make_client().complete(MESSAGES, prompt=PROMPT, schema=Answer)
    assert make_client().complete(MESSAGES, prompt=PROMPT, schema=Answer).reason == "ok"
    assert len(fake_llm.requests) == 2


def test_429_is_retried_with_backoff_then_succeeds(fake_llm, make_client):
    fake_llm.script.extend([http_error(429, "rate limited", **{"retry-after-ms": "20"}),
                            http_error(503, "overloaded", **{"retry-after-ms": "20"}),
                            reply('{"reason": "third time lucky"}')])
    answer = make_client(max_retries=2).complete(MESSAGES, prompt=PROMPT, schema=Answer)
    assert answer.reason == "third time lucky" and len(fake_llm.requests) == 3


def test_retries_exhausted_is_one_line_llm_error(fake_llm, make_client):
    fake_llm.script.extend([http_error(429, "rate limited", **{"retry-after-ms": "10"})] * 2)
    with pytest.raises(LLMError, match=r"HTTP 429 rate limited \(after 1 retries\)") as err:
        make_client(max_retries=1).chat(MESSAGES)
    assert "\n" not in str(err.value) and len(fake_llm.requests) == 2


def test_timeout_becomes_llm_error(fake_llm, make_client):
    fake_llm.script.append(slow(reply('{"reason": "late"}'), 2.0))
    with pytest.raises(LLMError, match="timed out"):
        make_client(timeout_s=0.3, max_retries=0).chat(MESSAGES)


def test_map_runs_concurrently_in_order_and_reports_progress(fake_llm, make_client):
    fake_llm.responder = lambda body: slow(reply(body["messages"][-1]["content"][-1]), 0.3)
    seen = []
    client = make_client(max_concurrency=4)
    results = client.map(lambda text: client.chat([("user", text)]), list("abcd"),
                         label="test", progress=lambda label, done, total: seen.append(done))
    assert results == list("abcd")
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty reply"),
    ("Sure! Here is the answer.", "no JSON object"),
    ('{"reason": 3}', "reason: Input should be a valid string"),
    ('{"other": "x"}', "reason: Field required"),
])
def test_unusable_replies_say_what_is_wrong(text, problem):
    with pytest.raises(InvalidReply, match=problem):
        parse_json_reply(text, Answer)


def test_code_fence_and_prose_around_json_are_tolerated():
    assert parse_json_reply('```json\n{"reason": "a"}\n```', Answer).reason == "a"
    assert parse_json_reply('Here you go: {"reason": "b"} hope it helps', Answer).reason == "b"


def test_token_budget_truncates_and_drops_samples():
    text = "咖啡" * 300 + " espresso" * 100
    cut = truncate_to_tokens(text, 50)
    assert estimate_tokens(cut) <= 50 and cut.endswith("…")
    assert truncate_to_tokens("short", 50) == "short"
    kept = fit_texts(["a" * 4000, "b" * 4000, "c" * 40], 300)
    assert sum(estimate_tokens(t) for t in kept) <= 300 and len(kept) == 3
    crowded = fit_texts(["x" * 100] * 50, 40)
    assert 0 < len(crowded) < 50 and sum(estimate_tokens(t) for t in crowded) <= 40
