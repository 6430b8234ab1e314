"""Recommendation ranking: the item catalogue, what each user has seen, and templated reasons.

The nearest-neighbour search (Chroma) is done by the caller; this module only filters, orders,
optionally diversifies (MMR) and explains the candidates it is handed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from interestlens.tools.errors import ConfigError
from interestlens.tools.name import excerpt
from interestlens.tools.records import EVENT_ID, ITEM_ID, ITEM_TEXT, TEXT, USER

logger = logging.getLogger(__name__)

CATALOGUE_COLUMNS: tuple[str, ...] = ("item_id", "item_text", "n_events", "is_event_item")
RECOMMENDATION_COLUMNS: tuple[str, ...] = ("user", "rank", "item", "score", "reason", "reason_mode")
N_TEXTS_PER_ITEM = 3  # event texts joined into an item's text when the item has none
ITEM_TEXT_WIDTH = 500
REASON_TEXT_WIDTH = 60
N_REASON_KEYWORDS = 3
MMR_MIN_POOL = 20  # MMR chooses among the max(4 k, this) best unseen candidates
MMR_BATCH = 1024  # users diversified together in one padded array

REASON_TEMPLATES = {
    "en": {
        "overlap": 'matches your interests {keywords} (similarity {score:.2f}): "{text}"',
        "semantic": 'closest in meaning to your interests {keywords} (similarity {score:.2f}):'
        ' "{text}"',
        "no_profile": 'similar to what you interacted with (similarity {score:.2f}): "{text}"',
    },
    "zh": {
        "overlap": "与你的兴趣{keywords}相符（相似度 {score:.2f}）：“{text}”",
        "semantic": "与你的兴趣{keywords}语义最接近（相似度 {score:.2f}）：“{text}”",
        "no_profile": "与你互动过的内容相似（相似度 {score:.2f}）：“{text}”",
    },
}
KEYWORD_QUOTES = {"en": ('"', '"', ", "), "zh": ("“", "”", "、")}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def build_item_catalogue(events: pd.DataFrame) -> pd.DataFrame:
    """Return the recommendable items, one row each, in order of first appearance.

    When any event names an item, the items are those ids; an item's text is its ``item_text``
    or else its first few event texts joined. When none does (e.g. plain reviews), each event is
    itself a content item (``is_event_item`` True).
    """
    item_ids = _blank_to_na(events[ITEM_ID]) if ITEM_ID in events else None
    if item_ids is None or item_ids.isna().all():
        frame = events[[EVENT_ID, TEXT]].drop_duplicates(EVENT_ID)
        catalogue = pd.DataFrame({
            "item_id": frame[EVENT_ID].astype(str).to_numpy(),
            "item_text": frame[TEXT].fillna("").astype(str).to_numpy(),
            "n_events": np.ones(len(frame), dtype=np.int64),
            "is_event_item": np.ones(len(frame), dtype=bool),
        })
        logger.info("no item ids: %d events serve as content items", len(catalogue))
        return catalogue
    given = _blank_to_na(events[ITEM_TEXT]) if ITEM_TEXT in events else pd.NA
    frame = pd.DataFrame({"item_id": item_ids, "given": given,
                          "text": events[TEXT].fillna("").astype(str)}).dropna(subset=["item_id"])
    grouped = frame.groupby("item_id", sort=False)
    joined = (frame[frame["text"].str.strip() != ""].groupby("item_id", sort=False)
              .head(N_TEXTS_PER_ITEM).groupby("item_id", sort=False)["text"]
              .agg(lambda texts: excerpt(" / ".join(texts), ITEM_TEXT_WIDTH)))
    counts = grouped.size()
    texts = grouped["given"].first().reindex(counts.index)
    texts = texts.fillna(joined.reindex(counts.index)).fillna("")
    logger.info("item catalogue: %d items from %d events", len(counts), len(frame))
    return pd.DataFrame({
        "item_id": counts.index.astype(str).to_numpy(),
        "item_text": texts.astype(str).to_numpy(),
        "n_events": counts.to_numpy(dtype=np.int64),
        "is_event_item": np.zeros(len(counts), dtype=bool),
    })


def _blank_to_na(values: pd.Series) -> pd.Series:
    """Return ``values`` as stripped strings, with blanks and missing values as NA."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def seen_items(events: pd.DataFrame, catalogue: pd.DataFrame) -> dict[str, set[str]]:
    """Return each user's interacted catalogue items (their own events in event-item mode).

    Every user in ``events`` is a key, with an empty set when they touched no catalogue item.
    """
    seen: dict[str, set[str]] = {str(user): set() for user in events[USER].unique()}
    if catalogue.empty:
        return seen
    is_event_mode = bool(catalogue["is_event_item"].all())
    items = events[EVENT_ID] if is_event_mode else _blank_to_na(events[ITEM_ID])
    known = items.isin(set(catalogue["item_id"])).to_numpy(dtype=bool)
    for user, item in zip(events[USER].to_numpy()[known], items.to_numpy()[known], strict=True):
        seen[str(user)].add(str(item))
    return seen


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
        diversity: MMR trade-off in [0, 1]; 0 ranks by score alone. Needs ``candidate_vectors``;
            MMR then picks among the ``max(4 k, 20)`` best unseen candidates.
        candidate_vectors: Embedding of each candidate item, used only when diversity > 0.

    Returns:
        Columns ``user, rank, item, score, reason, reason_mode``; ranks start at 1; ``score`` is
        the candidate's similarity even when MMR changed the order.

    Raises:
        ConfigError: ``k`` is below 1 or ``diversity`` is outside [0, 1].
    """
    if k < 1 or not 0.0 <= diversity <= 1.0:
        raise ConfigError(f"recommendations need k >= 1 and 0 <= diversity <= 1, "
                          f"got k={k}, diversity={diversity}")
    users = [str(user) for user in user_ids]
    pools = [_unseen(ids, scores, seen.get(user, set()))
             for user, ids, scores in zip(users, candidate_ids, candidate_scores, strict=True)]
    if diversity > 0 and candidate_vectors is not None:
        picks = _mmr(pools, k, diversity, candidate_vectors)
    else:
        picks = [pool[:k] for pool in pools]
    texts: dict[str, _ItemText] = {}
    known_keywords: dict[str, _Keyword] = {}
    columns: dict[str, list] = {name: [] for name in RECOMMENDATION_COLUMNS}
    for user, picked in zip(users, picks, strict=True):
        keywords = [known_keywords.get(kw) or known_keywords.setdefault(kw, _Keyword.of(kw))
                    for kw in user_keywords.get(user, ())]
        for rank, (item, score) in enumerate(picked, start=1):
            text = texts.get(item) or texts.setdefault(item, _ItemText.of(item_texts.get(item, "")))
            columns["user"].append(user)
            columns["rank"].append(rank)
            columns["item"].append(item)
            columns["score"].append(score)
            columns["reason"].append(_reason(text, keywords, score))
    columns["reason_mode"] = ["template"] * len(columns["user"])
    frame = pd.DataFrame(columns)
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
    """Return ``k`` candidates per pool by maximal marginal relevance, a batch of users at once."""
    width = max(4 * k, MMR_MIN_POOL)
    picks = []
    for start in range(0, len(pools), MMR_BATCH):
        batch = [pool[:width] for pool in pools[start:start + MMR_BATCH]]
        picks += _mmr_batch(batch, k, diversity, vectors)
    return picks


def _mmr_batch(pools: list[list[tuple[str, float]]], k: int, diversity: float,
               vectors: Mapping[str, np.ndarray]) -> list[list[tuple[str, float]]]:
    """Run MMR on padded pools; an item lacking a vector is similar to nothing."""
    width = max((len(pool) for pool in pools), default=0)
    dim = next((len(vectors[item]) for pool in pools for item, _ in pool if item in vectors), 0)
    relevance = np.full((len(pools), width), -np.inf)
    unit = np.zeros((len(pools), width, dim), dtype=np.float32)
    zero = np.zeros(dim, dtype=np.float32)
    for row, pool in enumerate(pools):
        if pool:
            relevance[row, : len(pool)] = [score for _, score in pool]
            unit[row, : len(pool)] = [vectors.get(item, zero) for item, _ in pool]
    norms = np.linalg.norm(unit, axis=2, keepdims=True)
    unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
    similarity = unit @ unit.transpose(0, 2, 1)
    rows = np.arange(len(pools))
    available = np.isfinite(relevance)
    redundancy = np.zeros_like(relevance)
    chosen = []
    for _ in range(min(k, width)):
        gain = np.where(available, (1 - diversity) * relevance - diversity * redundancy, -np.inf)
        best = gain.argmax(axis=1)
        chosen.append(np.where(available[rows, best], best, -1))
        available[rows, best] = False
        redundancy = np.maximum(redundancy, similarity[rows, best])
    order = np.stack(chosen, axis=1) if chosen else np.zeros((len(pools), 0), dtype=int)
    return [[pool[i] for i in row if i >= 0] for pool, row in zip(pools, order, strict=True)]


def _reason(item: _ItemText, keywords: Sequence[_Keyword], score: float) -> str:
    """Return the templated rationale for one recommendation, in the item's language."""
    template = REASON_TEMPLATES[item.language]
    open_q, close_q, sep = KEYWORD_QUOTES[item.language]
    cited = [kw.text for kw in keywords if kw.occurs_in(item)][:N_REASON_KEYWORDS]
    kind = "overlap" if cited else "semantic"
    if not cited:
        cited = [kw.text for kw in keywords if kw.text][:N_REASON_KEYWORDS]
        kind = "semantic" if cited else "no_profile"
    quoted = sep.join(f"{open_q}{kw}{close_q}" for kw in cited)
    return template[kind].format(keywords=quoted, score=score, text=item.quote)
