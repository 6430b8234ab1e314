"""The agent's tools: thin LangChain wrappers over the ``Assistant`` facade, built per session.

``make_toolbelt`` closes over one session's ``Assistant`` and ``ChatContext``; there is no module
state. Each tool calls the facade and renders the result with ``agent.render``; an
``InterestLensError`` or an unknown id comes back as ``"error: …"`` text, never as an exception, so
a bad question cannot crash the chat. The offline router calls the very same tools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from interestlens.agent import render
from interestlens.agent.prompts import fence_text
from interestlens.tools.clean import scrub_pii
from interestlens.tools.errors import InterestLensError

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from interestlens.agent.assistant import Assistant

MAX_QUERY_ROWS = 200


@dataclass
class ChatContext:
    """What one chat session's tools share: the answer language and what was last discussed.

    Attributes:
        language: "zh" or "en"; tools render their results in it.
        segment_ids: Segments the last segment-level tool returned, best first ("them").
        user_id: The user the last user-level tool was about ("this user").
        redact_pii: Scrub PII from tool results and fence them as data (set when they are sent
            to an LLM).
        question: The question being answered; tools that touch files act only on paths written
            in it, so no text inside the data can make the agent read or write a file.
    """

    language: str = "en"
    segment_ids: list[str] = field(default_factory=list)
    user_id: str | None = None
    redact_pii: bool = False
    question: str = ""


class NoArgs(BaseModel):
    """No arguments."""


class SegmentArgs(BaseModel):
    """One segment."""

    segment_id: str = Field(description="Segment id such as 'S3'.")


class InterestArgs(BaseModel):
    """An interest described in words, and how many results."""

    interest: str = Field(description="Interest, topic or need in the user's words.")
    k: int = Field(3, ge=1, le=50, description="How many results.")


class UserArgs(BaseModel):
    """One user."""

    user_id: str = Field(description="User id exactly as in the data.")


class RecommendUserArgs(UserArgs):
    """One user and how many items."""

    k: int = Field(5, ge=1, le=20, description="How many items.")


class RecommendSegmentArgs(SegmentArgs):
    """One segment and how many items."""

    k: int = Field(5, ge=1, le=20, description="How many items.")


class CompareArgs(BaseModel):
    """Two segments."""

    segment_a: str = Field(description="First segment id.")
    segment_b: str = Field(description="Second segment id.")


class QueryArgs(BaseModel):
    """A read-only SQL query over the ``events`` table."""

    sql: str = Field(description="One SELECT over table events(event_id, source, source_row, "
                                 "user, timestamp, event_type, item_id, language, sentiment, "
                                 "segment, text); use ? for parameters.")
    params: list[str | int | float] = Field(default_factory=list,
                                            description="Values for the ? placeholders.")
    limit: int = Field(50, ge=1, le=MAX_QUERY_ROWS, description="Maximum rows returned.")


class ExportArgs(SegmentArgs):
    """A segment's user list to write to a file."""

    fmt: Literal["csv", "json"] = Field("csv", description="File format.")
    path: str | None = Field(None, description="File name under <store>/exports/ (folders are "
                                               "dropped); default <id>.<fmt>.")


class RunArgs(BaseModel):
    """Input files or folders to segment."""

    paths: list[str] = Field(min_length=1, description="Files (csv/tsv/json/jsonl/parquet) or "
                                                       "Stack Exchange / MovieLens folders.")
    column_map: str | None = Field(None, description="Column roles, e.g. 'text=review,user=uid'.")


def _answer(call: Callable[[], str], ctx: ChatContext) -> str:
    """Return ``call()``, or ``"error: …"`` when the question named something that is not there.

    When the results go to an LLM (``ctx.redact_pii``), PII is scrubbed from them and they are
    fenced as data (``fence_text``), as the agent's system prompt announces.
    """
    try:
        text = call()
    except (InterestLensError, LookupError) as err:
        text = f"error: {err}"
    return fence_text(scrub_pii(text)) if ctx.redact_pii else text


def export_file(folder: Path, name: str, fmt: str) -> Path:
    """Return a new file in ``folder`` for an export named ``name`` (its folders dropped).

    The chat writes only there and never over an existing file: ``S1.csv`` becomes ``S1-2.csv``.
    """
    stem = Path(name).stem or "export"
    target, n = folder / f"{stem}.{fmt}", 2
    while target.exists():
        target, n = folder / f"{stem}-{n}.{fmt}", n + 1
    return target


def make_toolbelt(assistant: Assistant, context: ChatContext) -> list[BaseTool]:
    """Return the session's tools, each a closure over ``assistant`` and ``context``."""
    return [*_segment_tools(assistant, context), *_user_tools(assistant, context),
            *_data_tools(assistant, context)]


def _segment_tools(assistant: Assistant, ctx: ChatContext) -> list[BaseTool]:
    """Return the tools about segments."""
    from langchain_core.tools import tool

    @tool(args_schema=NoArgs)
    def list_segments() -> str:
        """List all segments with size, sentiment and keywords; use for an overview."""
        def run() -> str:
            segments = assistant.segments()
            ctx.segment_ids = [s.segment_id for s in segments]
            return render.render_segments(segments, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=SegmentArgs)
    def describe_segment(segment_id: str) -> str:
        """Describe one segment: name, description, size, sentiment, keywords and sample texts."""
        def run() -> str:
            segment = assistant.segment(segment_id)
            ctx.segment_ids = [segment.segment_id]
            return render.render_segment(segment, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=InterestArgs)
    def find_segments(interest: str, k: int = 3) -> str:
        """Find the segments that care most about an interest or topic, closest first."""
        def run() -> str:
            matches = assistant.find_segments(interest, k)
            ctx.segment_ids = [seg.segment_id for seg, _ in matches]
            return render.render_segment_matches(matches, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=RecommendSegmentArgs)
    def recommend_for_segment(segment_id: str, k: int = 5) -> str:
        """Recommend items to a whole segment, each with the reason; use for campaigns."""
        def run() -> str:
            recommendations = assistant.recommend_for_segment(segment_id, k)
            ctx.segment_ids = [segment_id]
            return render.render_recommendations(recommendations, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=CompareArgs)
    def compare_segments(segment_a: str, segment_b: str) -> str:
        """Compare two segments: sizes, sentiment, shared and distinct keywords."""
        def run() -> str:
            comparison = assistant.compare_segments(segment_a, segment_b)
            ctx.segment_ids = [comparison.a.segment_id, comparison.b.segment_id]
            return render.render_comparison(comparison, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=NoArgs)
    def segment_trends() -> str:
        """Show how segments changed: which grew, shrank, split, merged, were born, died."""
        def run() -> str:
            history = assistant.trends()
            growth = history.growth()
            ctx.segment_ids = growth.loc[growth["change"] > 0, "segment_id"].tolist()
            return render.render_trends(history, assistant.segments(), ctx.language)
        return _answer(run, ctx)

    return [list_segments, describe_segment, find_segments, recommend_for_segment,
            compare_segments, segment_trends]


def _user_tools(assistant: Assistant, ctx: ChatContext) -> list[BaseTool]:
    """Return the tools about individual users."""
    from langchain_core.tools import tool

    @tool(args_schema=InterestArgs)
    def find_users(interest: str, k: int = 10) -> str:
        """Find individual users whose interests are closest to a topic, with their segment."""
        return _answer(lambda: render.render_users(assistant.find_users(interest, k),
                                                   ctx.language), ctx)

    @tool(args_schema=UserArgs)
    def user_profile(user_id: str) -> str:
        """Show one user's segment, confidence, activity and top interests."""
        def run() -> str:
            profile = assistant.user(user_id)
            ctx.user_id, ctx.segment_ids = profile.user, [profile.segment_id]
            return render.render_profile(profile, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=RecommendUserArgs)
    def recommend_for_user(user_id: str, k: int = 5) -> str:
        """Recommend items to one user, each with the reason; use when asked what to show a user."""
        def run() -> str:
            recommendations = assistant.recommend(user_id, k)
            ctx.user_id = user_id
            return render.render_recommendations(recommendations, ctx.language)
        return _answer(run, ctx)

    return [find_users, user_profile, recommend_for_user]


def _data_tools(assistant: Assistant, ctx: ChatContext) -> list[BaseTool]:
    """Return the tools that load, query, export and show the data and the pipeline."""
    from langchain_core.tools import tool

    @tool(args_schema=RunArgs)
    def run_pipeline(paths: list[str], column_map: str | None = None) -> str:
        """Load data files or folders and segment their users; use to analyse new data."""
        from interestlens.tools.ingest import parse_column_map

        def run() -> str:
            unnamed = [p for p in paths if p not in ctx.question]
            if unnamed:
                return f"error: {unnamed[0]}: load only files the user named in the question"
            mapping = parse_column_map(column_map) if column_map else None
            result = assistant.run(paths, column_map=mapping)
            ctx.segment_ids = [s.segment_id for s in result.segments]
            return render.render_run(result.summary, result.segments, ctx.language)
        return _answer(run, ctx)

    @tool(args_schema=QueryArgs)
    def query_events(sql: str, params: list | None = None, limit: int = 50) -> str:
        """Run a read-only SQL SELECT over the events table for counts, trends and breakdowns."""
        return _answer(lambda: render.render_table(
            assistant.query_events(sql, params or None, limit), ctx.language), ctx)

    @tool(args_schema=ExportArgs)
    def export_segment(segment_id: str, fmt: str = "csv", path: str | None = None) -> str:
        """Export a segment's user list as CSV or JSON for CRM or ad tools; returns the path."""
        def run() -> str:
            target = export_file(Path(assistant.store_dir) / "exports",
                                 path or f"{segment_id}.{fmt}", fmt)
            written = assistant.export_segment(segment_id, target, fmt)
            ctx.segment_ids = [segment_id]
            return render.labels(ctx.language)["exported"].format(segment=segment_id,
                                                                  path=written)
        return _answer(run, ctx)

    @tool(args_schema=NoArgs)
    def show_pipeline() -> str:
        """Show the processing pipeline as a Mermaid diagram with the last run's counts."""
        return _answer(lambda: f"```mermaid\n{assistant.pipeline_mermaid().strip()}\n```", ctx)

    return [run_pipeline, query_events, export_segment, show_pipeline]
