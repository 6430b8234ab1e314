"""Recommendation ranking: filter, order and explain candidates with templated reasons.

The candidates come from the caller: the nearest items of a vector search (Chroma), or the
hybrid recommender's picks (``tools.collab``) with their ``HybridEvidence``. This module filters,
orders, optionally diversifies (MMR) and explains them; a reason cites the evidence: the user's
own items that point to the pick, their interests it matches, its popularity in their segment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.preprocessing import normalize

from interestlens.tools.collab_evidence import HybridEvidence
from interestlens.tools.errors import ConfigError
from interestlens.tools.name import count_noun, excerpt
from interestlens.tools.rank import mmr_rerank

logger = logging.getLogger(__name__)

RECOMMENDATION_COLUMNS: tuple[str, ...] = ("user", "rank", "item", "score", "reason", "reason_mode",
                                           "evidence", "level")
CONTENT_LEVEL = "content"  # ``level`` of a pick by vector similarity (no hybrid evidence)
EVIDENCE_SEPARATOR = " | "  # joins the evidence strings in the ``evidence`` column
REASON_TEXT_WIDTH = 60
TITLE_WIDTH = 40  # an item cited as evidence is quoted by its title, cut to this width
N_REASON_KEYWORDS = 3
MMR_MIN_POOL = 20  # MMR chooses among the max(4 k, this) best unseen candidates

REASON_TEMPLATES = {
    "en": {
        "overlap": 'matches your interests {keywords} (similarity {score:.2f}): "{text}"',
        "semantic": 'closest in meaning to your interests {keywords} (similarity {score:.2f}):'
        ' "{text}"',
        "no_profile": 'similar to what you interacted with (similarity {score:.2f}): "{text}"',
        "weak": 'a weak match to your interests {keywords} (similarity {score:.2f}): "{text}"',
        "weak_no_profile": 'a weak match to what you interacted with (similarity {score:.2f}):'
        ' "{text}"',
    },
    "zh": {
        "overlap": "与你的兴趣{keywords}相符（相似度 {score:.2f}）：“{text}”",
        "semantic": "与你的兴趣{keywords}语义最接近（相似度 {score:.2f}）：“{text}”",
        "no_profile": "与你互动过的内容相似（相似度 {score:.2f}）：“{text}”",
        "weak": "与你的兴趣{keywords}关联较弱（相似度 {score:.2f}）：“{text}”",
        "weak_no_profile": "与你互动过的内容关联较弱（相似度 {score:.2f}）：“{text}”",
    },
}
HYBRID_TEMPLATES = {
    "en": {
        "collab_positive": "users who liked {items} also liked it",
        "collab": "users who engaged with {items} also engaged with it",
        "collab_positive_anon": "liked by users like you",
        "collab_anon": "popular with users like you",
        "content": "matches your interests {keywords}",
        "content_segment": "matches the segment's interests {keywords}",
        "content_anon": "close to what you engaged with",
        "content_weak": "a weak match to what you engaged with",
        "segment": "popular in your segment {segment} ({users} there)",
        "segment_level": "popular in segment {segment} ({users})",
        "segment_anon": "popular among users like you",
        "recency": "trending now ({n:.1f} recent interactions)",
        "recency_last_visit": "trending when you were last active ({n:.1f} recent interactions)",
        "popularity": "popular overall ({interactions})",
        "unused": "new: no one has interacted with it yet",
        "cold_start": "you have few events yet, so: ",
        "reason": '{drivers} (score {score:.2f}): "{text}"',
        "join": "; ",
    },
    "zh": {
        "collab_positive": "喜欢{items}的用户也喜欢它",
        "collab": "关注{items}的用户也关注它",
        "collab_positive_anon": "与你相似的用户喜欢它",
        "collab_anon": "与你相似的用户常关注它",
        "content": "与你的兴趣{keywords}相符",
        "content_segment": "与该分群的兴趣{keywords}相符",
        "content_anon": "与你互动过的内容相似",
        "content_weak": "与你互动过的内容关联较弱",
        "segment": "在你所在的分群{segment}中受欢迎（{n} 位用户）",
        "segment_level": "在分群{segment}中受欢迎（{n} 位用户）",
        "segment_anon": "在相似用户中受欢迎",
        "recency": "近期热门（近期 {n:.1f} 次互动）",
        "recency_last_visit": "在你上次活跃时正热门（近期 {n:.1f} 次互动）",
        "popularity": "整体热门（{n} 次互动）",
        "unused": "新内容：还没有人互动过",
        "cold_start": "你的记录还不多，先看：",
        "reason": "{drivers}（得分 {score:.2f}）：“{text}”",
        "join": "；",
    },
}
LEVEL_EVIDENCE = {"cold_start": "cold start", "segment": "for the whole segment"}
N_DRIVERS = 2  # evidence terms a hybrid reason names
MIN_DRIVER_SHARE = 0.25  # a term is named when it brings this share of the top term's score
KEYWORD_QUOTES = {"en": ('"', '"', ", "), "zh": ("“", "”", "、")}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class _ItemText:
    """What a reason needs to know about one item's text."""

    quote: str
    folded: str
    tokens: frozenset[str]
    language: str

    @classmethod
    def of(cls, text: str) -> _ItemText:
        folded = str(text).casefold()
        words = _LATIN_WORD.findall(folded)
        n_cjk = len(_CJK.findall(folded))
        language = "zh" if n_cjk and n_cjk >= len(words) else "en"
        quote = excerpt(text, REASON_TEXT_WIDTH).replace(KEYWORD_QUOTES[language][1], "'")
        return cls(quote, folded, frozenset(words), language)


@dataclass(frozen=True)
class _Keyword:
    """A user keyword, ready to look for in item texts."""

    text: str
    folded: str
    forms: frozenset[str]  # word forms for a Latin keyword; empty means "match as a substring"

    @classmethod
    def of(cls, keyword: str) -> _Keyword:
        text = " ".join(str(keyword).split())
        folded = text.casefold()
        forms = {folded, folded + "s", folded + "es"} if _LATIN_WORD.fullmatch(folded) else ()
        return cls(text, folded, frozenset(forms))

    def occurs_in(self, item: _ItemText) -> bool:
        """Return True when the keyword occurs: as a word (or plural) if Latin, else anywhere."""
        return not self.forms.isdisjoint(item.tokens) if self.forms else self.folded in item.folded


def rank_recommendations(
    user_ids: Sequence[str],
    candidate_ids: Sequence[Sequence[str]],
    candidate_scores: Sequence[Sequence[float]],
    *,
    seen: Mapping[str, set[str]],
    item_texts: Mapping[str, str],
    user_keywords: Mapping[str, Sequence[str]],
    k: int = 5,
    diversity: float = 0.0,
    candidate_vectors: Mapping[str, np.ndarray] | None = None,
    evidence: Sequence[Sequence[HybridEvidence]] | None = None,
) -> pd.DataFrame:
    """Return each user's top ``k`` unseen candidates with a templated reason.

    Args:
        user_ids: Users to recommend for, aligned with the two candidate lists.
        candidate_ids: Per user, nearest items from the caller's vector search.
        candidate_scores: Per user, similarity of each candidate (higher is closer).
        seen: Items each user already interacted with; they are never recommended.
        item_texts: Text of each item, quoted in the reason.
        user_keywords: Each user's interest keywords, most characteristic first.
        k: Recommendations per user.
        diversity: MMR trade-off in [0, 1); 0 ranks by score alone. Needs ``candidate_vectors``;
            MMR then picks among the ``max(4 k, 20)`` best unseen candidates.
        candidate_vectors: Embedding of each candidate item, used only when diversity > 0.
        evidence: Per user, the hybrid recommender's evidence for each candidate; the reasons
            then cite it instead of a similarity.

    Returns:
        Columns ``RECOMMENDATION_COLUMNS``; ranks start at 1; ``score`` is the candidate's score
        even when MMR changed the order; ``evidence`` joins short evidence strings with
        ``EVIDENCE_SEPARATOR``; ``level`` says what the pick was made for: ``"user"`` (personal
        terms), ``"cold_start"`` (a user with too few events: segment-level terms),
        ``"segment"`` or ``"content"`` (similarity to the owner's vector).

    Raises:
        ConfigError: ``k`` is below 1 or ``diversity`` is outside [0, 1).
    """
    if k < 1 or not 0.0 <= diversity < 1.0:
        raise ConfigError(f"recommendations need k >= 1 and 0 <= diversity < 1, "
                          f"got k={k}, diversity={diversity}")
    users = [str(user) for user in user_ids]
    pools = [_unseen(ids, scores, seen.get(user, set()))
             for user, ids, scores in zip(users, candidate_ids, candidate_scores, strict=True)]
    if diversity > 0 and candidate_vectors is not None:
        picks = _mmr(pools, k, diversity, candidate_vectors)
    else:
        picks = [pool[:k] for pool in pools]
    found = ([dict(zip(map(str, ids), notes, strict=True))
              for ids, notes in zip(candidate_ids, evidence, strict=True)]
             if evidence is not None else [{} for _ in users])
    explain = _Explainer(item_texts, user_keywords)
    columns: dict[str, list] = {name: [] for name in RECOMMENDATION_COLUMNS}
    for user, picked, notes in zip(users, picks, found, strict=True):
        for rank, (item, score) in enumerate(picked, start=1):
            reason, cited = explain(user, item, score, notes.get(item))
            columns["user"].append(user)
            columns["rank"].append(rank)
            columns["item"].append(item)
            columns["score"].append(score)
            columns["reason"].append(reason)
            columns["evidence"].append(EVIDENCE_SEPARATOR.join(cited))
            level = notes[item].level if item in notes else CONTENT_LEVEL
            columns["level"].append(level)
    columns["reason_mode"] = ["template"] * len(columns["user"])
    frame = pd.DataFrame(columns)[list(RECOMMENDATION_COLUMNS)]
    return frame.astype({"user": str, "rank": np.int64, "item": str, "score": float})


def _unseen(ids: Sequence[str], scores: Sequence[float], seen: set[str]) -> list[tuple[str, float]]:
    """Return the unseen, de-duplicated candidates, best score first (ties keep input order)."""
    pool: dict[str, float] = {}
    for item, score in zip(ids, scores, strict=True):
        item = str(item)
        if item not in seen and item not in pool:
            pool[item] = float(score)
    return sorted(pool.items(), key=lambda pair: -pair[1])


def _mmr(pools: list[list[tuple[str, float]]], k: int, diversity: float,
         vectors: Mapping[str, np.ndarray]) -> list[list[tuple[str, float]]]:
    """Return ``k`` of each pool's ``max(4 k, 20)`` best candidates by ``tools.rank.mmr_rerank``.

    An item lacking a vector is similar to nothing; the candidates keep their own scores.
    """
    pools = [pool[:max(4 * k, MMR_MIN_POOL)] for pool in pools]
    ids = list(dict.fromkeys(item for pool in pools for item, _ in pool))
    dim = next((len(vectors[item]) for item in ids if item in vectors), 0)
    unit = normalize(np.array([vectors.get(item, np.zeros(dim)) for item in ids],
                              dtype=np.float64).reshape(len(ids), dim))
    index = {item: n for n, item in enumerate(ids)}
    width = max((len(pool) for pool in pools), default=0)
    scores, items = np.full((len(pools), width), -np.inf), np.zeros((len(pools), width), int)
    for row, pool in enumerate(pools):
        scores[row, :len(pool)] = [score for _, score in pool]
        items[row, :len(pool)] = [index[item] for item, _ in pool]
    picks, _ = mmr_rerank(scores, items, unit, k=k, diversity=diversity)
    return [[(ids[i], dict(pool)[ids[i]]) for i in row if i >= 0]
            for pool, row in zip(pools, picks, strict=True)]


class _Explainer:
    """Write reasons and evidence strings, caching parsed item texts and user keywords."""

    def __init__(self, item_texts: Mapping[str, str], user_keywords: Mapping[str, Sequence[str]]):
        self.item_texts, self.user_keywords = item_texts, user_keywords
        self.texts: dict[str, _ItemText] = {}
        self.keywords: dict[str, list[_Keyword]] = {}
        self.titles: dict[str, str] = {}

    def __call__(self, user: str, item: str, score: float,
                 evidence: HybridEvidence | None) -> tuple[str, tuple[str, ...]]:
        """Return the reason for one recommendation and its evidence strings."""
        text = self.text(item)
        if user not in self.keywords:
            # a blank keyword (a user without interests: "".split(";")) would match every text
            parsed = (_Keyword.of(kw) for kw in self.user_keywords.get(user, ()))
            self.keywords[user] = [kw for kw in parsed if kw.text]
        keywords = self.keywords[user]
        if evidence is None:
            cited = [kw.text for kw in keywords if kw.occurs_in(text)][:N_REASON_KEYWORDS]
            return (_reason(text, keywords, score),
                    (f"similarity {score:.2f}", *(f"interest: {kw}" for kw in cited)))
        return _hybrid_reason(text, keywords, evidence, score, self.title), \
            _evidence_strings(evidence, self.title)

    def text(self, item: str) -> _ItemText:
        """Return the parsed text of one item."""
        if item not in self.texts:
            self.texts[item] = _ItemText.of(self.item_texts.get(item, ""))
        return self.texts[item]

    def title(self, item: str) -> str:
        """Return an item's title: its text up to the first " | ", cut short."""
        if item not in self.titles:
            head = str(self.item_texts.get(item, "") or item).split(" | ")[0]
            self.titles[item] = excerpt(head, TITLE_WIDTH).replace("|", "/")
        return self.titles[item]


def _reason(item: _ItemText, keywords: Sequence[_Keyword], score: float) -> str:
    """Return the templated rationale for one recommendation, in the item's language."""
    template = REASON_TEMPLATES[item.language]
    open_q, close_q, sep = KEYWORD_QUOTES[item.language]
    cited = [kw.text for kw in keywords if kw.occurs_in(item)][:N_REASON_KEYWORDS]
    kind = "overlap" if cited else "semantic"
    if not cited:
        cited = [kw.text for kw in keywords if kw.text][:N_REASON_KEYWORDS]
        kind = "semantic" if cited else "no_profile"
        if score <= 0:  # not close at all: the best that is left
            kind = "weak" if cited else "weak_no_profile"
    quoted = sep.join(f"{open_q}{kw}{close_q}" for kw in cited)
    return template[kind].format(keywords=quoted, score=score, text=item.quote)


def _hybrid_reason(item: _ItemText, keywords: Sequence[_Keyword], evidence: HybridEvidence,
                   score: float, title: Callable[[str], str]) -> str:
    """Return the rationale of a hybrid pick: its strongest terms, then interests it matches."""
    template = HYBRID_TEMPLATES[item.language]
    open_q, close_q, sep = KEYWORD_QUOTES[item.language]
    matched = [kw.text for kw in keywords if kw.occurs_in(item)][:N_REASON_KEYWORDS]
    fill = {
        "items": sep.join(f"{open_q}{title(i)}{close_q}" for i in evidence.because_items),
        "keywords": sep.join(f"{open_q}{kw}{close_q}" for kw in matched),
        "segment": evidence.segment_id, "n_segment": evidence.n_segment_users, "score": score,
    }
    names = _drivers(evidence.contributions)
    if matched and "content" not in names:
        names.append("content")
    drivers = [_driver(template, name, evidence, fill) for name in names]
    prefix = template["cold_start"] if evidence.level == "cold_start" else ""
    return template["reason"].format(drivers=prefix + template["join"].join(drivers),
                                     score=score, text=item.quote)


def _drivers(contributions: Sequence[tuple[str, float]]) -> list[str]:
    """Return the terms a reason names.

    Those are the strongest ``N_DRIVERS`` bringing at least ``MIN_DRIVER_SHARE`` of the top
    contribution, the two collab terms counting as one.
    """
    if not contributions:
        return ["popularity"]
    floor = MIN_DRIVER_SHARE * contributions[0][1]
    names: list[str] = []
    for name, value in contributions:
        is_collab_twin = name.startswith("collab") and any(n.startswith("collab") for n in names)
        if value >= floor and not is_collab_twin and len(names) < N_DRIVERS:
            names.append(name)
    return names


def _driver(template: Mapping[str, str], name: str, evidence: HybridEvidence,
            fill: Mapping[str, object]) -> str:
    """Return the phrase for one evidence term, falling back when its details are missing."""
    if name in ("collab", "collab_positive"):
        return template[name].format(**fill) if fill["items"] else template[f"{name}_anon"]
    if name == "content":
        if not fill["keywords"]:
            return template["content_anon" if fill["score"] > 0 else "content_weak"]
        return template["content_segment" if evidence.level == "segment" else name].format(**fill)
    if name == "segment":
        if fill["segment"] is None:
            return template["segment_anon"]
        kind = "segment_level" if evidence.level == "segment" else "segment"
        n = fill["n_segment"]
        return template[kind].format(segment=fill["segment"], n=n, users=count_noun(n, "user"))
    if name == "recency":
        kind = "recency_last_visit" if evidence.is_recent_at_last_visit else name
        return template[kind].format(n=evidence.n_recent)
    n = evidence.n_interactions
    if n <= 0:  # nothing is popular with no interactions
        return template["unused"]
    return template["popularity"].format(n=n, interactions=count_noun(n, "interaction"))


def _evidence_strings(evidence: HybridEvidence, title: Callable[[str], str]) -> tuple[str, ...]:
    """Return the evidence of one pick as short strings: terms, own items, segment, counts."""
    strings = [f"{name} {value:.2f}" for name, value in evidence.contributions]
    strings += [f"because of: {title(item)}" for item in evidence.because_items]
    if evidence.segment_id is not None:
        strings.append(f"segment {evidence.segment_id}: "
                       f"{count_noun(evidence.n_segment_users, 'user')}")
    strings.append(f"{count_noun(evidence.n_interactions, 'interaction')}, "
                   f"{evidence.n_recent:.1f} recent")
    if evidence.level in LEVEL_EVIDENCE:
        strings.append(LEVEL_EVIDENCE[evidence.level])
    if evidence.diversity_penalty > 0:
        strings.append(f"diversity penalty {evidence.diversity_penalty:.2f}")
    return tuple(strings)
