"""Render facade results as short plain text, in English or Chinese, for tools and offline answers.

These are display templates, not LLM prompts. Texts written by end users are always shown as
quoted, one-line excerpts, so they read as data wherever the rendered text goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from interestlens.agent.results import RunSummary, UserProfile
from interestlens.tools.evidence import SegmentComparison
from interestlens.tools.name import count_noun, excerpt, format_share, sentiment_word
from interestlens.tools.records import Recommendation, Segment

if TYPE_CHECKING:
    from interestlens.agent.evolution import SegmentTrends

N_KEYWORDS = 6
N_TEXTS = 3
MAX_TABLE_ROWS = 20

LABELS = {
    "en": {
        "segment": "{id} · {name} — {n_users:,} users ({share}), sentiment {sentiment:+.2f} "
                   "({mood}); keywords: {keywords}",
        "naming": "Naming: {mode}{note}.",
        "texts": "Sample texts: {texts}",
        "match": "{segment} (similarity {score:.2f})",
        "user_row": "{user} in {segment} (similarity {score:.2f})",
        "profile": "User {user}: segment {segment_id} · {segment_name} (confidence "
                   "{confidence:.2f}{outlier}), {n_events:,} events; interests: {interests}",
        "outlier": ", outlier",
        "rec": "{rank}. {item} — {text} (score {score:.2f}; reason [{mode}]: {reason})",
        "compare": "{a} vs {b}: sizes {na:,} vs {nb:,} users (ratio {ratio:.2f}); sentiment "
                   "{sa:+.2f} vs {sb:+.2f} (gap {gap:+.2f}).\nShared keywords: {shared}\n"
                   "Only in {a}: {only_a}\nOnly in {b}: {only_b}",
        "none": "(none)",
        "rows": "{n} rows",
        "more_rows": "… {n} more rows not shown",
        "exported": "Exported the users of {segment} to {path}",
        "run": "Segmented {inputs}: {n_kept:,} of {n_rows:,} rows kept, {users} in {segments} "
               "(naming: {naming}).",
    },
    "zh": {
        "segment": "{id} · {name}：{n_users:,} 位用户（{share}），情感 {sentiment:+.2f}（{mood}）；"
                   "关键词：{keywords}",
        "naming": "命名方式：{mode}{note}。",
        "texts": "代表性文本：{texts}",
        "match": "{segment}（相似度 {score:.2f}）",
        "user_row": "{user}，属于 {segment}（相似度 {score:.2f}）",
        "profile": "用户 {user}：分群 {segment_id} · {segment_name}（置信度 {confidence:.2f}"
                   "{outlier}），{n_events:,} 条行为；兴趣：{interests}",
        "outlier": "，离群用户",
        "rec": "{rank}. {item} — {text}（得分 {score:.2f}；理由 [{mode}]：{reason}）",
        "compare": "{a} 对比 {b}：规模 {na:,} 对 {nb:,} 位用户（比值 {ratio:.2f}）；"
                   "情感 {sa:+.2f} 对 {sb:+.2f}（差值 {gap:+.2f}）。\n共同关键词：{shared}\n"
                   "仅 {a} 有：{only_a}\n仅 {b} 有：{only_b}",
        "none": "（无）",
        "rows": "共 {n} 行",
        "more_rows": "……另有 {n} 行未显示",
        "exported": "已将 {segment} 的用户名单导出到 {path}",
        "run": "已分析 {inputs}：{n_rows:,} 行中保留 {n_kept:,} 行，"
               "{n_users:,} 位用户分为 {n_segments} 个分群（命名方式：{naming}）。",
    },
}
QUOTES = {"en": ('"', '"', ", "), "zh": ("“", "”", "、")}


def labels(language: str) -> dict[str, str]:
    """Return the display templates of ``language`` ("zh", else English)."""
    return LABELS["zh" if language == "zh" else "en"]


def quote_all(items: Sequence[str], language: str, *, width: int = 80) -> str:
    """Return ``items`` as one-line quoted excerpts joined by the language's list separator."""
    open_q, close_q, sep = QUOTES["zh" if language == "zh" else "en"]
    quoted = [f"{open_q}{excerpt(str(i), width).replace(close_q, chr(39))}{close_q}"
              for i in items if str(i).strip()]
    return sep.join(quoted) or labels(language)["none"]


def render_segment_line(segment: Segment, language: str) -> str:
    """Return one line: id, name, size, share, sentiment and top keywords."""
    return labels(language)["segment"].format(
        id=segment.segment_id, name=segment.name, n_users=segment.n_users,
        share=format_share(segment.share), sentiment=segment.sentiment,
        mood=sentiment_word(segment.sentiment, language),
        keywords=quote_all(segment.keywords[:N_KEYWORDS], language, width=30),
    )


def render_segments(segments: Sequence[Segment], language: str) -> str:
    """Return one line per segment."""
    return "\n".join(render_segment_line(s, language) for s in segments) or labels(language)[
        "none"]


def render_segment(segment: Segment, language: str) -> str:
    """Return a segment's line, description, naming provenance and sample texts."""
    text = labels(language)
    note = f" ({segment.naming_note})" if segment.naming_note else ""
    return "\n".join([
        render_segment_line(segment, language),
        segment.description,
        text["naming"].format(mode=segment.naming_mode, note=note),
        text["texts"].format(texts=quote_all(segment.representative_texts[:N_TEXTS], language)),
    ])


def render_segment_matches(matches: Sequence[tuple[Segment, float]], language: str) -> str:
    """Return one line per (segment, similarity), closest first."""
    text = labels(language)
    return "\n".join(
        text["match"].format(segment=render_segment_line(seg, language), score=score)
        for seg, score in matches
    ) or text["none"]


def render_users(frame: pd.DataFrame, language: str) -> str:
    """Return one line per row of a (user, segment, score) table."""
    text = labels(language)
    return "\n".join(
        text["user_row"].format(user=row.user, segment=row.segment, score=float(row.score))
        for row in frame.itertuples(index=False)
    ) or text["none"]


def render_profile(profile: UserProfile, language: str) -> str:
    """Return a user's segment, confidence, activity and interests on one line."""
    text = labels(language)
    return text["profile"].format(
        user=profile.user, segment_id=profile.segment_id, segment_name=profile.segment_name,
        confidence=profile.confidence, outlier=text["outlier"] if profile.is_outlier else "",
        n_events=profile.n_events, interests=quote_all(profile.top_interests, language, width=30),
    )


def render_recommendations(recommendations: Sequence[Recommendation], language: str) -> str:
    """Return one numbered line per recommendation, with its reason and how it was written."""
    text = labels(language)
    return "\n".join(
        text["rec"].format(rank=r.rank, item=r.item_id, text=quote_all([r.item_text], language,
                                                                          width=60),
                           score=r.score, mode=r.reason_mode, reason=r.reason)
        for r in recommendations
    ) or text["none"]


def render_comparison(comparison: SegmentComparison, language: str) -> str:
    """Return sizes, sentiment, shared and distinct keywords of two segments."""
    a, b = comparison.a, comparison.b
    return labels(language)["compare"].format(
        a=f"{a.segment_id} · {a.name}", b=f"{b.segment_id} · {b.name}", na=a.n_users,
        nb=b.n_users, ratio=comparison.size_ratio, sa=a.sentiment, sb=b.sentiment,
        gap=comparison.sentiment_gap,
        shared=quote_all(comparison.shared_keywords, language, width=30),
        only_a=quote_all(comparison.only_a, language, width=30),
        only_b=quote_all(comparison.only_b, language, width=30),
    )


def render_run(summary: RunSummary, segments: Sequence[Segment], language: str) -> str:
    """Return what a pipeline run found: rows kept, users, segments and how they were named."""
    head = labels(language)["run"].format(
        inputs=", ".join(summary.inputs), n_kept=summary.n_kept, n_rows=summary.n_input_rows,
        n_users=summary.n_users, n_segments=summary.n_segments, naming=summary.naming_mode,
        users=count_noun(summary.n_users, "user"),
        segments=count_noun(summary.n_segments, "segment"),
    )
    return f"{head}\n{render_segments(segments, language)}"


def render_table(frame: pd.DataFrame, language: str, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """Return a query result as aligned text, long cells cut, at most ``max_rows`` rows."""
    text = labels(language)
    if frame.empty:
        return f"{text['rows'].format(n=0)}\n{text['none']}"
    shown = frame.head(max_rows).map(
        lambda v: excerpt(str(v), 60) if isinstance(v, str) else v)
    lines = [text["rows"].format(n=len(frame)), shown.to_string(index=False)]
    if len(frame) > max_rows:
        lines.append(text["more_rows"].format(n=len(frame) - max_rows))
    return "\n".join(lines)


TREND_LABELS = {
    "en": {
        "none": "No snapshot yet: run the pipeline into this store first.",
        "one": "Only one snapshot so far ({label}); `interestlens update` with new data shows "
               "how the segments change.",
        "head": "{n} snapshots, {first} → {last}; last step {before} → {after}:",
        "growing": "Growing: {rows}",
        "shrinking": "Shrinking: {rows}",
        "steady": "No segment grew or shrank in the last step.",
        "row": "{id} · {name} {a:,} → {b:,}",
        "transitions": "Transitions in the last step: {rows}",
        "quiet": "No split, merge, birth, death or drift in the last step.",
    },
    "zh": {
        "none": "暂无快照：请先对该存储运行分析流程。",
        "one": "目前只有一个快照（{label}）；用 `interestlens update` 加入新数据后即可看到"
               "分群变化。",
        "head": "共 {n} 个快照，{first} → {last}；最近一步 {before} → {after}：",
        "growing": "增长的兴趣群：{rows}",
        "shrinking": "缩小的兴趣群：{rows}",
        "steady": "最近一步没有分群增长或缩小。",
        "row": "{id} · {name} {a:,} → {b:,}",
        "transitions": "最近一步的变化：{rows}",
        "quiet": "最近一步没有分裂、合并、新生、消亡或漂移。",
    },
}


def render_trends(trends: SegmentTrends, segments: Sequence[Segment], language: str) -> str:
    """Return the growing and shrinking segments of the last step and its transitions."""
    text = TREND_LABELS["zh" if language == "zh" else "en"]
    snapshots = trends.snapshots
    if snapshots.empty:
        return text["none"]
    if len(snapshots) == 1:
        return text["one"].format(label=snapshots["label"].iat[0])
    names = trends.names | {s.segment_id: s.name for s in segments}
    growth = trends.growth()
    lines = [text["head"].format(n=len(snapshots), first=snapshots["label"].iat[0],
                                 last=snapshots["label"].iat[-1],
                                 before=snapshots["label"].iat[-2],
                                 after=snapshots["label"].iat[-1])]
    sep = QUOTES["zh" if language == "zh" else "en"][2]
    for key, part in (("growing", growth[growth["change"] > 0]),
                      ("shrinking", growth[growth["change"] < 0].iloc[::-1])):
        if len(part):
            lines.append(text[key].format(rows=sep.join(
                text["row"].format(id=r.segment_id, name=names.get(r.segment_id, "-"),
                                   a=int(r.before), b=int(r.after))
                for r in part.itertuples(index=False))))
    if len(lines) == 1:
        lines.append(text["steady"])
    last = trends.transitions[(trends.transitions["snapshot_id"] == snapshots["snapshot_id"]
                               .iat[-1]) & (trends.transitions["kind"] != "survived")]
    lines.append(text["transitions"].format(rows=sep.join(
        f"{r.kind} ({', '.join(r.source_ids) or '-'} → {', '.join(r.target_ids) or '-'})"
        for r in last.itertuples(index=False))) if len(last) else text["quiet"])
    return "\n".join(lines)
