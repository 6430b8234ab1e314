"""Segment naming: the ``SegmentNamer`` protocol and the offline, extractive namer.

The extractive namer builds each name from the segment's most distinctive keywords and writes a
short evidence-based description from plain templates (module constants, not LLM prompts).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from interestlens.tools.records import Segment, SegmentEvidence

logger = logging.getLogger(__name__)

EXTRACTIVE_NOTE = "offline mode: name and description extracted from keywords and texts, no LLM"
POSITIVE_AT = 0.2  # mean sentiment at or above this reads "positive"
NEGATIVE_AT = -0.2  # at or below this reads "negative"; in between "mixed"
LOW_CONFIDENCE_BELOW = 0.5
N_DESCRIPTION_KEYWORDS = 5
N_QUOTED_TEXTS = 3
QUOTE_WIDTH = 80

NAME_JOINER = {"zh": "、"}
DEFAULT_NAME_JOINER = " · "
FALLBACK_NAME = {"zh": "用户分群 {segment_id}"}
DEFAULT_FALLBACK_NAME = "Segment {segment_id}"

SENTIMENT_WORDS = {
    "zh": {"positive": "正面", "mixed": "褒贬不一", "negative": "负面"},
    "en": {"positive": "positive", "mixed": "mixed", "negative": "negative"},
}

DESCRIPTION_EN = {
    "size": "{n_users:,} users ({share} of all users) with {n_events:,} events.",
    "keywords": " Top keywords: {keywords}.",
    "no_keywords": " No characteristic keywords were found.",
    "sentiment": " Overall sentiment is {sentiment_word} ({sentiment:+.2f})",
    "event_types": "; most events are {event_types}",
    "low_confidence": " Mean assignment confidence is low ({confidence:.2f}): treat this segment"
    " as tentative.",
    "texts": " Representative texts: {texts}.",
}
DESCRIPTION_ZH = {
    "size": "该分群有 {n_users:,} 位用户（占全部用户的 {share}），共 {n_events:,} 条行为。",
    "keywords": "高频关键词：{keywords}。",
    "no_keywords": "未找到有代表性的关键词。",
    "sentiment": "整体情感{sentiment_word}（{sentiment:+.2f}）",
    "event_types": "，主要行为类型为 {event_types}",
    "low_confidence": "平均归属置信度较低（{confidence:.2f}），结论仅供参考。",
    "texts": "代表性文本：{texts}。",
}
QUOTES = {"zh": ("“", "”", "、", "；"), "en": ('"', '"', ", ", "; ")}


class SegmentNamer(Protocol):
    """Turn measured segment evidence into named, described segments."""

    def name(self, evidence: Sequence[SegmentEvidence]) -> list[Segment]:
        """Return one ``Segment`` per evidence record, in the same order."""
        ...


def excerpt(text: str, width: int = QUOTE_WIDTH) -> str:
    """Return ``text`` on one line, cut to at most ``width`` characters with a trailing "…"."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def sentiment_word(score: float, language: str = "en") -> str:
    """Return "positive", "mixed" or "negative" (or the Chinese word) for a score in [-1, 1]."""
    words = SENTIMENT_WORDS["zh" if language == "zh" else "en"]
    if score >= POSITIVE_AT:
        return words["positive"]
    if score <= NEGATIVE_AT:
        return words["negative"]
    return words["mixed"]


def count_noun(n: int, noun: str) -> str:
    """Return a count with its English noun, singular for 1: "1 segment", "1,024 users"."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def format_share(share: float) -> str:
    """Return a 0..1 share as a percentage such as "12.5 %"."""
    return f"{share * 100:.1f} %"


class ExtractiveNamer:
    """Name segments offline from their keywords; describe them from their evidence.

    Args:
        n_name_keywords: How many keywords make a name (more are added only to break ties).
    """

    def __init__(self, n_name_keywords: int = 3):
        self.n_name_keywords = n_name_keywords

    def name(self, evidence: Sequence[SegmentEvidence]) -> list[Segment]:
        """Return one extractively named ``Segment`` per evidence record, names unique."""
        ordered = _distinct_keywords(evidence, window=2 * self.n_name_keywords)
        used: set[str] = set()
        segments = []
        for ev, keywords in zip(evidence, ordered, strict=True):
            name = self._unique_name(ev, keywords, used)
            used.add(name.casefold())
            segments.append(_segment(ev, name, describe(ev)))
        logger.info("named %d segments extractively", len(segments))
        return segments

    def _unique_name(self, ev: SegmentEvidence, keywords: list[str], used: set[str]) -> str:
        """Return the first free name: n keywords, then one more, then numbered suffixes."""
        joiner = NAME_JOINER.get(ev.language, DEFAULT_NAME_JOINER)
        if keywords:
            base = joiner.join(keywords[: self.n_name_keywords])
            tries = [base, joiner.join(keywords[: self.n_name_keywords + 1])]
        else:
            base = FALLBACK_NAME.get(ev.language, DEFAULT_FALLBACK_NAME).format(
                segment_id=ev.segment_id
            )
            tries = [base]
        for candidate in tries:
            if candidate.casefold() not in used:
                return candidate
        suffix = 2
        while f"{base} ({suffix})".casefold() in used:
            suffix += 1
        return f"{base} ({suffix})"


def _distinct_keywords(evidence: Sequence[SegmentEvidence], *, window: int) -> list[list[str]]:
    """Order each segment's keywords so those not shared with other segments come first.

    Only the first ``window`` keywords are reordered, so a name never reaches for an obscure one;
    keywords nested in an earlier one ("coffee" after "coffee beans") are dropped.
    """
    cleaned = [_drop_nested(ev.keywords) for ev in evidence]
    heads = [{kw.casefold() for kw in kws[:window]} for kws in cleaned]
    n_segments_with = Counter(kw for head in heads for kw in head)
    ordered = []
    for kws in cleaned:
        head = sorted(kws[:window], key=lambda kw: n_segments_with[kw.casefold()] > 1)
        ordered.append(head + kws[window:])
    return ordered


def _drop_nested(keywords: Sequence[str]) -> list[str]:
    """Return the non-blank keywords, minus any nested in (or holding) an earlier one."""
    kept: list[str] = []
    for keyword in (" ".join(str(kw).split()) for kw in keywords):
        folded = keyword.casefold()
        if folded and not any(folded in k.casefold() or k.casefold() in folded for k in kept):
            kept.append(keyword)
    return kept


def describe(ev: SegmentEvidence) -> str:
    """Return a 2-3 sentence description of a segment, with its evidence, in its language."""
    is_zh = ev.language == "zh"
    template = DESCRIPTION_ZH if is_zh else DESCRIPTION_EN
    open_q, close_q, list_sep, text_sep = QUOTES["zh" if is_zh else "en"]

    def quote(items: Sequence[str], sep: str) -> str:
        # Inner quote marks would end the quotation early; show them as single quotes.
        return sep.join(f"{open_q}{item.replace(close_q, chr(39))}{close_q}" for item in items)

    parts = [template["size"].format(n_users=ev.n_users, share=format_share(ev.share),
                                     n_events=ev.n_events)]
    keywords = ev.keywords[:N_DESCRIPTION_KEYWORDS]
    parts.append(template["keywords"].format(keywords=quote(keywords, list_sep)) if keywords
                 else template["no_keywords"])
    mood = template["sentiment"].format(
        sentiment_word=sentiment_word(ev.sentiment, ev.language), sentiment=ev.sentiment
    )
    if ev.top_event_types and ev.top_event_types != ("event",):  # "event" = no type column
        mood += template["event_types"].format(event_types=list_sep.join(ev.top_event_types[:3]))
    parts.append(mood + ("。" if is_zh else "."))
    if ev.mean_confidence < LOW_CONFIDENCE_BELOW:
        parts.append(template["low_confidence"].format(confidence=ev.mean_confidence))
    texts = [excerpt(t) for t in ev.representative_texts if str(t).strip()][:N_QUOTED_TEXTS]
    if texts:
        parts.append(template["texts"].format(texts=quote(texts, text_sep)))
    return "".join(parts).strip()


def _segment(ev: SegmentEvidence, name: str, description: str) -> Segment:
    """Return the ``Segment`` record for one evidence record, named extractively."""
    return Segment(
        segment_id=ev.segment_id,
        cluster_id=ev.cluster_id,
        name=name,
        description=description,
        naming_mode="extractive",
        naming_note=EXTRACTIVE_NOTE,
        n_users=ev.n_users,
        share=ev.share,
        n_events=ev.n_events,
        keywords=ev.keywords,
        sentiment=ev.sentiment,
        top_event_types=ev.top_event_types,
        representative_texts=ev.representative_texts,
        mean_confidence=ev.mean_confidence,
    )
