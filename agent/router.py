"""Offline router: answer questions without an LLM by picking a tool and its arguments.

A question is split into steps (sentences; comma parts only when each has its own cue). Each step
is scored against every intent of ``agent.intents``: cosine similarity of sentence embeddings
(bundled MiniLM) and of character n-gram TF-IDF vectors (which carries Chinese, where MiniLM is
weak) with the intent's examples, plus its cue words and how well the ids, numbers, quoted text,
paths or SQL found in the question fit what the intent needs. Entities are masked ("S0", "U0")
before scoring so that ids never decide the intent. Below ``threshold`` the step is not
understood, and the caller says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from interestlens.agent.intents import INTENTS, Intent
from interestlens.agent.toolbelt import ChatContext
from interestlens.tools.clean import detect_language
from interestlens.tools.text import tokenize

DEFAULT_K = {"find_segments": 3, "find_users": 10, "recommend_for_user": 5,
             "recommend_for_segment": 5}
MAX_K = 20
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10}
_NUM = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"
_ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth".split())}
_SEGMENT_PATTERNS = (
    re.compile(r"(?<![A-Za-z0-9_])[Ss](\d{1,3})(?![A-Za-z0-9_])"),
    re.compile(r"\b(?:segments?|groups?|clusters?)\s*(?:#|no\.?\s*)?(\d{1,3})\b", re.I),
    re.compile(r"\b(?:and|&|vs\.?|versus|with|or)\s*(?:segment|group|cluster)?\s*(\d{1,3})\b(?!\s*"
               r"(?:items?|users?|products?|people))", re.I),
    re.compile(r"(?:分群|群组|用户群|群体|群)\s*(\d{1,3})"),
    re.compile(rf"第\s*{_NUM}\s*(?:个|(?=分群|群))"),
    re.compile(rf"\b({'|'.join(_ORDINALS)})\s+(?:segment|group|cluster)", re.I),
)
_USER_PATTERNS = (
    re.compile(r"(?:\buser|\bcustomer|\bclient|\bmember|用户|顾客|客户|会员)\s*(?:id\s*|编号\s*)?"
               r"[#:：]?\s*([A-Za-z0-9][A-Za-z0-9_.\-@]*)", re.I),
    re.compile(r"(?<![A-Za-z0-9_])([uU][_\-]?\d+)(?![A-Za-z0-9_])"),
)
_K_PATTERNS = (
    re.compile(r"\b(?:top|first|best)\s*(\d{1,3})\b", re.I),
    re.compile(r"\b(\d{1,3})\s+(?:items?|products?|users?|people|customers|segments?|groups?|"
               r"recommendations?|things|suggestions?|results?|ideas?)\b", re.I),
    re.compile(rf"前\s*{_NUM}"),
    re.compile(rf"(?<!第){_NUM}\s*(?:个|位|条|款|名|件|项)"),
)
_QUOTED = re.compile(r'["“「『]([^"”」』]{1,80})["”」』]')
_SQL = re.compile(r"\b(?:select|with)\b.+\bfrom\b.+", re.I | re.S)
_PATH = re.compile(  # a data file, an absolute/relative path, or "folder/sub" (first part >= 3)
    r"[^\s\"“”'，。？?、\u3400-\u9fff]+\.(?:csv|tsv|jsonl|json|parquet|xml)\b"
    r"|(?:~|\.{1,2})/[A-Za-z0-9_.\-/]+|(?<![A-Za-z0-9_])/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-/]*"
    r"|\b[A-Za-z0-9_.\-]{3,}/[A-Za-z0-9_.\-/]*[A-Za-z0-9_]")
_SEGMENT_PRONOUN = re.compile(r"\b(?:them|they|those|these|this (?:segment|group)|that (?:segment"
                              r"|group))\b|他们|她们|它们|这些人|这个(?:分群|群体|用户群|群)|该(?:分群|群体)|"
                              r"这群|这类", re.I)
_STEP_SPLIT = re.compile(r"(?<=[？?。！!；;])\s*")
_COMMA_SPLIT = re.compile(r"[，,]\s*")
_FILLER = frozenset("""
which what who whom whose where how why care cares caring cared interested interest interests
talk talks talking like likes love loves mention mentions mentioned discuss discusses discussing
complain complains complaining segment segments group groups cluster clusters user users people
customer customers individual individuals find show list give get top really please most more
want wants sensitive share percentage percent proportion posts reviews events comments mentioning
哪些 哪个 哪几个 哪类 什么样 什么 用户群 用户 分群 人群 群体 顾客 客户
关心 关注 感兴趣 在意 在乎 重视 看重 偏好 热衷 喜欢 讨论 提到 谈论 谈到 说到 抱怨 吐槽 敏感
找出 找到 列出 显示 比较 特别 一下 那些 这些 比例 占比 多少 评论 行为 提及 条数
""".split())


@dataclass(frozen=True)
class Entities:
    """What a question names explicitly."""

    segment_ids: tuple[str, ...] = ()
    user_id: str | None = None
    k: int | None = None
    quoted: str | None = None
    paths: tuple[str, ...] = ()
    sql: str | None = None
    fmt: str | None = None
    is_about_them: bool = False  # "them", "他们", "this segment": the segments in focus
    masked: str = ""  # the question with ids and numbers replaced by placeholders


@dataclass(frozen=True)
class Route:
    """A routed step: the intent, the tool and its arguments, the score, what is missing."""

    intent: Intent
    args: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    missing: str | None = None  # the first argument that could not be filled
    shown: dict[str, Any] = field(default_factory=dict)  # values for the answer's lead only

    @property
    def tool(self) -> str | None:
        """Return the name of the tool to call (None for help)."""
        return self.intent.tool


def _cn_number(token: str) -> int:
    """Return the value of "7", "七", "十二" or "二十"."""
    if token.isdigit():
        return int(token)
    if "十" not in token:
        return _CN_DIGITS.get(token, 0)
    tens, _, ones = token.partition("十")
    return _CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(ones, 0)


def extract_entities(text: str) -> Entities:
    """Return the segment ids, user id, count, quoted text, paths, SQL and format in ``text``."""
    sql = _SQL.search(text)
    masked = text[: sql.start()] + " SQL" if sql else text
    quoted = _QUOTED.search(masked)
    paths = tuple(m.group(0) for m in _PATH.finditer(masked) if not m.group(0).startswith("//"))
    for path in paths:
        masked = masked.replace(path, " FILE ")
    segments, masked = _take_segments(masked)
    user_id, masked = _take_user(masked)
    k, masked = _take_k(masked)
    fmt = "json" if re.search(r"json", text, re.I) else "csv" if re.search(r"csv", text, re.I) \
        else None
    return Entities(
        segment_ids=segments, user_id=user_id, k=k, quoted=quoted.group(1) if quoted else None,
        paths=paths, sql=sql.group(0).strip().rstrip("?？。;；") if sql else None, fmt=fmt,
        is_about_them=bool(_SEGMENT_PRONOUN.search(text)), masked=masked,
    )


def _take_segments(text: str) -> tuple[tuple[str, ...], str]:
    """Return the segment ids named in ``text`` (in order, unique) and the text with them masked."""
    found: list[tuple[int, str]] = []
    for pattern in _SEGMENT_PATTERNS:
        for match in pattern.finditer(text):
            token = match.group(1).lower()
            number = _ORDINALS.get(token) or _cn_number(token)
            if number:
                found.append((match.start(), f"S{number}"))
        text = pattern.sub(lambda m: m.group(0).replace(m.group(1), "0"), text)
    ids = tuple(dict.fromkeys(s for _, s in sorted(found)))
    return ids, text


def _take_user(text: str) -> tuple[str | None, str]:
    """Return the first user id (a token with a digit after "user"/"用户", or like "u42")."""
    for pattern in _USER_PATTERNS:
        for match in pattern.finditer(text):
            token = match.group(1).rstrip(".-")
            if any(c.isdigit() for c in token) and token != "0":
                return token, text.replace(token, "U0", 1)
    return None, text


def _take_k(text: str) -> tuple[int | None, str]:
    """Return a requested count ("top 5", "前五", "3 个") and the text with it masked."""
    for pattern in _K_PATTERNS:
        match = pattern.search(text)
        if match and _cn_number(match.group(1)):
            return _cn_number(match.group(1)), text.replace(match.group(1), "N", 1)
    return None, text


def extract_interest(entities: Entities) -> str:
    """Return the topic of a "who cares about …" question: quoted text, else the content words."""
    if entities.quoted:
        return entities.quoted.strip()
    text = re.sub(r"\b(?:S0|U0|N|FILE|SQL)\b", " ", entities.masked)
    language = detect_language(text)
    words = [w for w in tokenize(text, language) if w not in _FILLER]
    joiner = "" if language == "zh" and all(not w.isascii() for w in words) else " "
    return joiner.join(words)


class OfflineRouter:
    """Route questions to tools by similarity to example questions, cue words and entities.

    Args:
        embedder: Anything with ``encode(texts) -> L2-normalised array``; the bundled MiniLM
            (``tools.embed.SentenceEmbedder``) when None.
        intents: The catalogue to route over.
        threshold: Minimum score of an understood step.
        embedding_weight: Share of the embedding similarity in the score (TF-IDF gets the rest)
            for English; it shrinks with the share of Chinese characters in the question.
        cue_bonus: Added when one of an intent's cue words appears; in Chinese, subtracted
            (scaled by the Chinese share) when none does.
        ngram_range: Character n-gram sizes of the TF-IDF.

    Attributes:
        embedder_: The embedder used.
        vectorizer_: Character n-gram TF-IDF fitted on the masked examples.
        example_vectors_: Embeddings of the masked examples.
        example_tfidf_: TF-IDF rows of the masked examples.
        example_intent_: Index into ``intents`` of each example.
    """

    def __init__(self, embedder: Any = None, *, intents: Sequence[Intent] = INTENTS,
                 threshold: float = 0.38, embedding_weight: float = 0.5, cue_bonus: float = 0.25,
                 ngram_range: tuple[int, int] = (1, 2)):
        self.embedder = embedder
        self.intents = intents
        self.threshold = threshold
        self.embedding_weight = embedding_weight
        self.cue_bonus = cue_bonus
        self.ngram_range = ngram_range

    def fit(self) -> OfflineRouter:
        """Embed and vectorise the intents' examples; return self."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        from interestlens.tools.embed import SentenceEmbedder

        self.embedder_ = self.embedder if self.embedder is not None else SentenceEmbedder()
        examples = [(i, extract_entities(e).masked) for i, intent in enumerate(self.intents)
                    for e in intent.examples]
        texts = [text.lower() for _, text in examples]
        self.example_intent_ = np.array([i for i, _ in examples])
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                           sublinear_tf=True)
        self.example_tfidf_ = self.vectorizer_.fit_transform(texts)
        self.example_vectors_ = np.asarray(self.embedder_.encode(texts), dtype=np.float32)
        return self

    def split(self, question: str) -> list[str]:
        """Return the steps of a question: sentences, or their comma parts when each has a cue."""
        steps = []
        for sentence in filter(None, (s.strip() for s in _STEP_SPLIT.split(question))):
            parts = [p for p in _COMMA_SPLIT.split(sentence) if p.strip()]
            has_cues = len(parts) > 1 and all(self._cued(p) for p in parts)
            steps.extend(parts if has_cues else [sentence])
        return steps

    def scores(self, text: str, entities: Entities | None = None) -> np.ndarray:
        """Return the score of every intent for one step (similarity + cues + entity fit)."""
        if not hasattr(self, "example_intent_"):
            self.fit()
        entities = entities or extract_entities(text)
        masked = entities.masked.lower()
        # MiniLM maps most Chinese characters to [UNK]: its similarity counts only for the
        # non-Chinese share of the question.
        weight = self.embedding_weight * (1 - _cjk_share(masked))
        tfidf = self.example_tfidf_ @ self.vectorizer_.transform([masked]).T
        similarity = tfidf.toarray().ravel()
        if weight > 0:
            embedding = np.asarray(self.embedder_.encode([masked]), dtype=np.float32)[0]
            similarity = weight * (self.example_vectors_ @ embedding) + (1 - weight) * similarity
        best = np.full(len(self.intents), -1.0)
        np.maximum.at(best, self.example_intent_, similarity)
        # Cue words carry Chinese: there, an intent none of whose cues appear loses the bonus.
        no_cue = -self.cue_bonus * _cjk_share(masked)
        cued = [bool(re.search(intent.cues, text, re.I)) for intent in self.intents]
        return np.array([
            best[i] + (self.cue_bonus if cued[i] else no_cue) + _entity_fit(intent, entities)
            - (1.0 if "cue" in intent.needs and not cued[i] else 0.0)  # help only when asked
            for i, intent in enumerate(self.intents)
        ])

    def route(self, text: str, *, context: ChatContext | None = None,
              fallback: Entities | None = None) -> Route | None:
        """Return the best route for one step, or None when it is not understood.

        Args:
            text: One step of the question.
            context: The session's focus, used for ids the step does not name ("them").
            fallback: Entities of the whole question, used for ids this step does not name.
        """
        entities = extract_entities(text)
        scores = self.scores(text, entities)
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            return None
        return _fill(Route(self.intents[best], score=float(scores[best])), entities,
                     context or ChatContext(), fallback or Entities())

    def follow(self, route: Route) -> Route | None:
        """Return the supporting step of ``route`` (its intent's ``then``), or None."""
        intent = next((i for i in self.intents if i.name == route.intent.then), None)
        if intent is None:
            return None
        args = {key: value for key, value in {**route.args, **route.shown}.items()
                if key in ("interest", "segment_id", "user_id")}
        return _finish(Route(intent, args={**intent.fixed, **args}, score=route.score))

    def _cued(self, text: str) -> bool:
        return any(re.search(intent.cues, text, re.I) for intent in self.intents)


def _cjk_share(text: str) -> float:
    """Return the share of CJK ideographs among the letters of ``text``."""
    letters = [c for c in text if c.isalpha()]
    return sum("\u3400" <= c <= "\u9fff" for c in letters) / len(letters) if letters else 0.0


def _entity_fit(intent: Intent, entities: Entities) -> float:
    """Return how much what the question names fits what ``intent`` needs (-0.4 … +0.5)."""
    n_segments, has_user = len(entities.segment_ids), entities.user_id is not None
    fit = 0.0
    if "segment" in intent.needs:
        fit += 0.1 if n_segments or entities.is_about_them else -0.15
        fit -= 0.15 if has_user and not n_segments else 0.0
    if "two_segments" in intent.needs:
        fit += 0.15 if n_segments >= 2 else -0.3
    if "user" in intent.needs:
        fit += 0.15 if has_user else -0.2
    if "interest" in intent.needs and (has_user or n_segments):
        fit -= 0.1
    if "paths" in intent.needs:  # a question naming a segment is not asking to load data
        fit += (0.3 if entities.paths else -0.4) - (0.3 if n_segments else 0.0)
    if "sql" in intent.needs:
        fit += 0.5 if entities.sql else -0.4
    return fit


def _fill(route: Route, own: Entities, context: ChatContext, fallback: Entities) -> Route:
    """Return ``route`` with its arguments: from the step, else the focus, else the question."""
    intent = route.intent
    segments = own.segment_ids or tuple(context.segment_ids) or fallback.segment_ids
    user_id = own.user_id or context.user_id or fallback.user_id
    args: dict[str, Any] = dict(intent.fixed)
    k = own.k or fallback.k
    if intent.name in DEFAULT_K and k:
        args["k"] = min(k, MAX_K)
    if "segment" in intent.needs:
        args["segment_id"] = segments[0] if segments else None
    if "two_segments" in intent.needs:
        pair = own.segment_ids if len(own.segment_ids) >= 2 else segments
        args.update(segment_a=pair[0] if pair else None,
                    segment_b=pair[1] if len(pair) > 1 else None)
    if "user" in intent.needs:
        args["user_id"] = user_id
    if "interest" in intent.needs:
        args["interest"] = extract_interest(own)
    if "paths" in intent.needs:
        args["paths"] = list(own.paths or fallback.paths)
    if intent.name == "raw_sql":
        args["sql"] = own.sql or fallback.sql
    if intent.name == "export_segment":
        args.update(_export_target(own.paths or fallback.paths, own.fmt or fallback.fmt))
    if "{segment_filter}" in args.get("sql", ""):
        args.update(_segment_filter(args["sql"], own.segment_ids))
    return _finish(replace(route, args=args))


def _finish(route: Route) -> Route:
    """Return ``route`` with SQL-bound interests as parameters and its first missing argument."""
    args, shown = dict(route.args), {}
    if route.tool == "query_events" and "interest" in args:
        shown["interest"] = args.pop("interest")
        args["params"] = [f"%{shown['interest']}%"] * args["sql"].count("?")
    values = {**args, **shown}
    missing = next((name for name, value in values.items() if value in (None, "", [])), None)
    return replace(route, args=args, shown=shown, missing=missing)


def _export_target(paths: Sequence[str], fmt: str | None) -> dict[str, Any]:
    """Return the export format (from the file name, else the words, else CSV) and any path."""
    if not paths:
        return {"fmt": fmt or "csv"}
    return {"fmt": "json" if paths[0].lower().endswith(".json") else fmt or "csv",
            "path": paths[0]}


def _segment_filter(sql: str, segment_ids: Sequence[str]) -> dict[str, Any]:
    """Return the canned query restricted to the named segment, when the step names one."""
    if not segment_ids:
        return {"sql": sql.format(segment_filter="")}
    return {"sql": sql.format(segment_filter=" AND segment = ?"), "params": [segment_ids[0]]}
