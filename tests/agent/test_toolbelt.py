"""Toolbelt: thin wrappers over the facade; errors come back as text, focus is remembered."""

from __future__ import annotations

from interestlens.agent.toolbelt import ChatContext, make_toolbelt


def tools_of(assistant, language="en"):
    context = ChatContext(language=language)
    return {t.name: t for t in make_toolbelt(assistant, context)}, context


def test_every_tool_has_a_snake_case_name_and_a_short_docstring(fake_assistant):
    tools, _ = tools_of(fake_assistant)
    assert set(tools) == {
        "run_pipeline", "list_segments", "describe_segment", "find_segments", "find_users",
        "user_profile", "recommend_for_user", "recommend_for_segment", "compare_segments",
        "query_events", "export_segment", "show_pipeline", "segment_trends"}
    for tool in tools.values():
        assert tool.name.islower() and 20 < len(tool.description) <= 100


def test_unknown_ids_come_back_as_error_text(fake_assistant):
    tools, context = tools_of(fake_assistant)
    assert tools["describe_segment"].invoke({"segment_id": "S9"}).startswith(
        "error: ") and "unknown segment 'S9'" in tools["describe_segment"].invoke(
        {"segment_id": "S9"})
    assert tools["user_profile"].invoke({"user_id": "bob"}).startswith("error: ")
    context.question = "analyse nope.csv"
    assert tools["run_pipeline"].invoke({"paths": ["nope.csv"]}) == \
        "error: nope.csv: file not found"


def test_tools_update_the_session_focus(fake_assistant):
    tools, context = tools_of(fake_assistant)
    tools["find_segments"].invoke({"interest": "espresso", "k": 2})
    assert context.segment_ids[0] == "S2" and len(context.segment_ids) == 2
    tools["user_profile"].invoke({"user_id": "u7"})
    assert context.user_id == "u7" and context.segment_ids == ["S2"]


def test_results_render_in_the_session_language(fake_assistant):
    tools, context = tools_of(fake_assistant, "zh")
    assert "位用户" in tools["describe_segment"].invoke({"segment_id": "S1"})
    context.language = "en"
    assert "users" in tools["describe_segment"].invoke({"segment_id": "S1"})


def test_export_defaults_to_the_store_exports_folder(fake_assistant):
    tools, _ = tools_of(fake_assistant)
    text = tools["export_segment"].invoke({"segment_id": "S3", "fmt": "json"})
    assert text.endswith(str(fake_assistant.store_dir / "exports" / "S3.json"))
    assert fake_assistant.calls[-1][0] == "segment"


def test_exports_stay_in_the_store_exports_folder_and_never_overwrite(fake_assistant):
    tools, _ = tools_of(fake_assistant)
    exports = fake_assistant.store_dir / "exports"
    exports.mkdir(parents=True)
    (exports / "passwd.csv").write_text("keep", encoding="utf-8")
    text = tools["export_segment"].invoke({"segment_id": "S3", "path": "../../etc/passwd.txt"})
    assert text.endswith(str(exports / "passwd-2.csv"))
    assert (exports / "passwd.csv").read_text(encoding="utf-8") == "keep"


def test_files_are_loaded_only_when_the_question_names_them(fake_assistant):
    tools, context = tools_of(fake_assistant)
    context.question = "describe S2"
    answer = tools["run_pipeline"].invoke({"paths": ["/etc/passwd"]})
    assert answer == "error: /etc/passwd: load only files the user named in the question"
    assert not any(call[0] == "run" for call in fake_assistant.calls)


def test_query_and_pipeline_pass_through(fake_assistant):
    tools, _ = tools_of(fake_assistant)
    out = tools["query_events"].invoke({"sql": "SELECT 1", "params": ["S1"], "limit": 5})
    assert out.startswith("2 rows") and ("query_events", ("SELECT 1", ("S1",), 5)) in \
        fake_assistant.calls
    assert tools["show_pipeline"].invoke({}).startswith("```mermaid\nflowchart LR")


def test_results_sent_to_an_llm_are_pii_scrubbed(fake_assistant):
    tools, context = tools_of(fake_assistant)
    fake_assistant._segments[1] = fake_assistant._segments[1].model_copy(
        update={"representative_texts": ("mail me at jo@example.com or 13812345678",)})
    assert "jo@example.com" in tools["describe_segment"].invoke({"segment_id": "S2"})
    context.redact_pii = True
    text = tools["describe_segment"].invoke({"segment_id": "S2"})
    assert "jo@example.com" not in text and "[EMAIL]" in text and "[PHONE]" in text


def test_segment_trends_lists_growing_and_shrinking_segments_and_new_ones(fake_assistant):
    tools, context = tools_of(fake_assistant)
    text = tools["segment_trends"].invoke({})
    assert "2 snapshots, run 1 → update 2" in text
    assert "Growing: S2 · espresso · grinder · crema 50 → 70, S4 · beer · hops · ipa 0 → 12" in text
    assert "Shrinking: S3 · 物流、快递、慢 45 → 30" in text
    assert "born (- → S4)" in text
    assert context.segment_ids == ["S2", "S4"]  # "them" = the growing segments
    tools_zh, _ = tools_of(fake_assistant, language="zh")
    assert "增长的兴趣群：S2" in tools_zh["segment_trends"].invoke({})
