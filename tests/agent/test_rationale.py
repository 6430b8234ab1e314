"""Recommendation rationales: templates offline, LLM sentences online, template on failure."""

from __future__ import annotations

import json

from agent_fakes import http_error, reply

from interestlens.agent.rationale import explain_recommendations
from interestlens.tools.records import Recommendation

RECS = [
    Recommendation(user="u1", rank=1, item_id="i1", item_text="Conical burr grinder for espresso",
                   score=0.9, reason='matches your interests "espresso"'),
    Recommendation(user="u2", rank=1, item_id="i2", item_text="便宜实惠的保温杯，联系 a@b.cn",
                   score=0.8, reason="与你的兴趣“价格”相符"),
]
INTERESTS = {"u1": ["espresso", "grinder"], "u2": ["价格", "便宜"]}


def test_offline_keeps_the_templated_reasons():
    result = explain_recommendations(RECS, interests=INTERESTS, client=None)
    assert result.recommendations == RECS and result.n_fallbacks == 0
    assert all(r.reason_mode == "template" for r in result.recommendations)


def test_llm_writes_reasons_in_the_data_language(fake_llm, make_client):
    def responder(body):
        is_zh = "你负责" in body["messages"][0]["content"]
        return reply(json.dumps({"reason": "你喜欢便宜的东西，这款保温杯很实惠。" if is_zh
                                 else "You like espresso; this grinder is made for it."},
                                ensure_ascii=False))

    fake_llm.responder = responder
    result = explain_recommendations(RECS, interests=INTERESTS, client=make_client())
    assert [r.reason_mode for r in result.recommendations] == ["llm", "llm"]
    assert result.recommendations[1].reason.startswith("你喜欢")
    assert all("a@b.cn" not in json.dumps(b, ensure_ascii=False) for b in fake_llm.requests)
    assert [r.item_id for r in result.recommendations] == ["i1", "i2"]


def test_failed_or_unusable_reply_keeps_the_template(fake_llm, make_client):
    def responder(body):
        if "你负责" in body["messages"][0]["content"]:
            return http_error(500, "boom", **{"retry-after-ms": "10"})
        return reply(json.dumps({"reason": "One. Two. Three. Four."}))

    fake_llm.responder = responder
    result = explain_recommendations(RECS, interests=INTERESTS, client=make_client(max_retries=0))
    assert result.recommendations == RECS and result.n_fallbacks == 2
