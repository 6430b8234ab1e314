"""The chat on a real store built from the seeded demo data (offline: no LLM is reachable here)."""

from __future__ import annotations

import pytest

from interestlens.agent import Assistant
from interestlens.agent.chat import ChatSession


@pytest.fixture(scope="module")
def session(tmp_path_factory, demo_events, router):
    assistant = Assistant(store=tmp_path_factory.mktemp("chat") / "store")
    assistant.run(demo_events.head(1500))
    yield ChatSession(assistant, router=router)
    assistant.close()


@pytest.mark.slow
def test_acceptance_questions_are_answered_offline_from_the_store(session):
    known = {s.segment_id for s in session.assistant.segments()}
    price = session.ask("哪些用户群最关心价格？给他们推荐什么？")
    assert price.mode == "offline"
    assert [c.name for c in price.tool_calls] == [
        "find_segments", "query_events", "recommend_for_segment"]
    assert price.tool_calls[2].args["segment_id"] in known
    assert "给分群" in price.text and "1. " in price.text
    espresso = session.ask("Which segments care most about espresso?")
    assert espresso.tool_calls[0].args == {"interest": "espresso"}
    assert espresso.text.splitlines()[1].split(" · ")[0] in known


@pytest.mark.slow
def test_store_questions_answer_with_real_tables(session, tmp_path):
    counts = session.ask("how many events does each segment have?")
    assert counts.tool_calls[0].name == "query_events" and "n_events" in counts.text
    first = session.assistant.segments()[0].segment_id
    export = session.ask(f"export {first} as json to {tmp_path}/out.json")
    assert export.tool_calls[0].args == {"segment_id": first, "fmt": "json",
                                         "path": f"{tmp_path}/out.json"}
    written = session.assistant.store_dir / "exports" / "out.json"  # the chat writes only there
    assert written.is_file() and str(written) in export.text
    assert not (tmp_path / "out.json").exists()
