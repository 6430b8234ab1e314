"""ChatSession: offline answers from the router, and the real LangChain agent on the fake server."""

from __future__ import annotations

import pytest
from agent_fakes import http_error, reply, slow, tool_calls

from interestlens.agent.chat import ChatSession


@pytest.fixture
def offline(fake_assistant, router):
    return ChatSession(fake_assistant, router=router)


@pytest.fixture
def online(fake_assistant, router, make_client):
    return ChatSession(fake_assistant, client=make_client(max_retries=1, timeout_s=2.0),
                       router=router)


# ---- offline ----------------------------------------------------------------------------------
def test_offline_compound_chinese_question_finds_segments_then_recommends(offline):
    answer = offline.ask("哪些用户群最关心价格？给他们推荐什么？")
    assert answer.mode == "offline" and answer.note.startswith("离线模式")
    assert [c.name for c in answer.tool_calls] == [
        "find_segments", "query_events", "recommend_for_segment"]
    find, mentions, recommend = answer.tool_calls
    assert find.args == {"interest": "价格"} and recommend.args == {"segment_id": "S1"}
    assert mentions.args["params"] == ["%价格%", "%价格%"] and "ILIKE ?" in mentions.args["sql"]
    assert answer.text.startswith("与“价格”最相关的用户群：\nS1 · 价格、性价比、便宜")
    assert "各分群中提到“价格”的行为占比：\n共 2 行" in answer.text
    assert "给分群 S1 的推荐：\n1. item0" in answer.text


def test_offline_english_question(offline):
    answer = offline.ask("Which segments care most about espresso?")
    assert [(c.name, c.args.get("interest")) for c in answer.tool_calls] == [
        ("find_segments", "espresso"), ("query_events", None)]
    assert answer.text.splitlines()[:2] == [
        "Segments closest to “espresso”:",
        answer.text.splitlines()[1]]
    assert answer.text.splitlines()[1].startswith("S2 · espresso")
    assert answer.tool_calls[0].result.startswith("S2 · espresso")


def test_offline_memory_resolves_them(offline, fake_assistant):
    offline.ask("describe S3")
    answer = offline.ask("what should we recommend to them?")
    assert answer.tool_calls[0].args == {"segment_id": "S3"}


def test_offline_says_plainly_when_it_did_not_understand(offline):
    answer = offline.ask("What's the weather like tomorrow?")
    assert answer.tool_calls == () and answer.mode == "offline"
    assert answer.text.startswith("Sorry, I did not understand the question. I can list")
    assert offline.ask("明天北京天气怎么样").text.startswith("抱歉，我没有理解这个问题。")


def test_offline_asks_for_a_missing_id_instead_of_guessing(offline):
    answer = offline.ask("describe the segment please")
    assert answer.tool_calls == () and answer.text.startswith("Which segment? Give an id")


def test_offline_tool_errors_are_answers_not_crashes(offline):
    answer = offline.ask("describe S9")
    assert answer.tool_calls[0].result.startswith("error: ") and "unknown segment" in answer.text


# ---- LLM agent on the fake OpenAI-compatible server ------------------------------------------
def test_agent_calls_tools_then_answers(online, fake_llm, fake_assistant):
    fake_llm.script.extend([tool_calls(("find_segments", {"interest": "espresso", "k": 2})),
                            reply("S2 cares most about espresso.")])
    answer = online.ask("Which segments care most about espresso?")
    assert (answer.mode, answer.text) == ("llm", "S2 cares most about espresso.")
    assert answer.note == "answered by fake-model"
    [call] = answer.tool_calls
    assert (call.name, call.args) == ("find_segments", {"interest": "espresso", "k": 2})
    assert call.result.startswith("S2 · espresso")
    assert ("find_segments", ("espresso", 2)) in fake_assistant.calls
    first, second = fake_llm.requests
    assert first["messages"][0]["role"] == "system" and "InterestLens" in first["messages"][0][
        "content"]
    assert len(first["tools"]) == 13 and first["temperature"] == 0.2
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["content"].startswith("<<<DATA\nS2 · espresso")  # fenced


def test_agent_remembers_the_conversation(online, fake_llm):
    fake_llm.script.extend([reply("Hello!"), reply("You said hi.")])
    online.ask("hi")
    online.ask("what did I say?")
    roles = [(m["role"], m.get("content")) for m in fake_llm.requests[-1]["messages"][1:]]
    assert roles == [("user", "hi"), ("assistant", "Hello!"), ("user", "what did I say?")]


def test_agent_chinese_question_gets_the_chinese_system_prompt(online, fake_llm):
    fake_llm.script.append(reply("共有 4 个分群。"))
    answer = online.ask("一共有几个分群？")
    assert answer.mode == "llm" and "你是 InterestLens" in fake_llm.requests[0]["messages"][0][
        "content"]


def test_agent_tool_error_goes_back_to_the_model(online, fake_llm):
    fake_llm.script.extend([tool_calls(("describe_segment", {"segment_id": "S9"})),
                            reply("There is no segment S9.")])
    answer = online.ask("describe S9")
    assert answer.mode == "llm" and answer.tool_calls[0].result.startswith("error: ")
    assert "unknown segment 'S9'" in fake_llm.requests[1]["messages"][-1]["content"]


def test_agent_429_then_success(online, fake_llm):
    fake_llm.script.extend([http_error(429, "rate limited", **{"retry-after-ms": "10"}),
                            reply("Four segments.")])
    answer = online.ask("how many segments are there?")
    assert (answer.mode, answer.text) == ("llm", "Four segments.") and len(fake_llm.requests) == 2


def test_agent_timeout_falls_back_offline_and_says_why(fake_assistant, router, make_client,
                                                      fake_llm):
    session = ChatSession(fake_assistant, client=make_client(timeout_s=0.4, max_retries=1),
                          router=router)
    fake_llm.script.extend([slow(reply("late"), 1.0)] * 2)
    answer = session.ask("list all segments")
    assert answer.mode == "offline" and "request timed out" in answer.note
    assert answer.note.startswith("LLM failed (")
    assert [c.name for c in answer.tool_calls] == ["list_segments"]


def test_server_without_tool_support_falls_back_offline(online, fake_llm):
    fake_llm.script.append(http_error(400, "this model does not support tools"))
    answer = online.ask("compare S1 and S3")
    assert answer.mode == "offline"
    assert "HTTP 400 this model does not support tools" in answer.note
    assert [(c.name, c.args) for c in answer.tool_calls] == [
        ("compare_segments", {"segment_a": "S1", "segment_b": "S3"})]
    assert "tools" in fake_llm.requests[0]


def test_malformed_tool_call_json_falls_back_offline(online, fake_llm):
    fake_llm.script.append(tool_calls(("describe_segment", '{"segment_id": "S2"')))
    answer = online.ask("describe S2")
    assert answer.mode == "offline" and "no final answer" in answer.note
    assert [c.name for c in answer.tool_calls] == ["describe_segment"]
    assert len(fake_llm.requests) == 1  # the bad call was never executed by the agent


def test_configured_settings_build_an_llm_session(fake_assistant, fake_llm):
    from interestlens.agent.settings import Settings

    fake_assistant.settings = Settings(INTERESTLENS_LLM_MODEL="m",
                                       INTERESTLENS_LLM_BASE_URL=fake_llm.url)
    assert ChatSession.for_assistant(fake_assistant).client.config.model == "m"


def test_agent_that_never_stops_calling_tools_is_cut_off(online, fake_llm):
    fake_llm.responder = lambda body: tool_calls(("list_segments", {}))
    answer = online.ask("list all segments")
    assert answer.mode == "offline" and "did not finish within 20 steps" in answer.note
    assert 5 <= len(fake_llm.requests) <= 20
