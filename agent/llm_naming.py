"""``LLMNamer``: contrastive (Clio-style) segment names from an LLM, extractive when that fails.

Each segment's prompt holds its keywords, sentiment, size and sample texts, plus keywords and
samples of its nearest other segments, so the name says what sets it apart. The reply must be a
``SegmentNameDraft``; an invalid reply is repaired once, then the segment falls back to the
extractive name with the reason in ``naming_note``. Names end up unique across segments.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel, Field, field_validator

from interestlens.agent.llm import InvalidReply, LLMClient, fit_texts
from interestlens.agent.prompts import Message, Prompt, fence_data, load_prompt
from interestlens.tools.clean import scrub_pii
from interestlens.tools.errors import LLMError
from interestlens.tools.name import ExtractiveNamer, SegmentNamer
from interestlens.tools.records import Progress, Segment, SegmentEvidence

logger = logging.getLogger(__name__)

MAX_NAME_WORDS = 10
MAX_NAME_CJK_CHARS = 20
MAX_DESCRIPTION_SENTENCES = 3  # the prompt asks for two; one extra tolerates "e.g." and the like
N_PROMPT_KEYWORDS = 10
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|[。！？]")


class SegmentNameDraft(BaseModel):
    """What the LLM must return for one segment; mapped onto ``Segment`` by ``LLMNamer``."""

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=600)
    persona: str = Field(min_length=1, max_length=300)
    interests: list[str] = Field(min_length=1, max_length=8)

    @field_validator("name")
    @classmethod
    def _short_name(cls, name: str) -> str:
        name = " ".join(name.split()).strip("\"'“”「」")
        if not name:
            raise ValueError("name is blank")
        if len(name.split()) > MAX_NAME_WORDS or len(_CJK.findall(name)) > MAX_NAME_CJK_CHARS:
            raise ValueError(f"name must have at most {MAX_NAME_WORDS} words "
                             f"({MAX_NAME_CJK_CHARS} Chinese characters)")
        return name

    @field_validator("description")
    @classmethod
    def _two_sentences(cls, description: str) -> str:
        description = " ".join(description.split())
        if len(_SENTENCE_END.findall(description)) > MAX_DESCRIPTION_SENTENCES:
            raise ValueError("description must be two sentences")
        return description

    @field_validator("interests")
    @classmethod
    def _clean_interests(cls, interests: list[str]) -> list[str]:
        cleaned = [" ".join(str(i).split()) for i in interests if str(i).strip()]
        if not cleaned:
            raise ValueError("interests must not be blank")
        return cleaned


Named = tuple[Segment, "SegmentNameDraft | None"]
"""A named segment with the LLM draft it came from (None after a fallback)."""


@dataclass(frozen=True)
class _Job:
    """One segment's naming request: its messages and the prompts that made them."""

    evidence: SegmentEvidence
    messages: list[Message]
    prompt: Prompt
    repair: Prompt


@dataclass(frozen=True)
class _Outcome:
    """A draft, or the reason there is none."""

    draft: SegmentNameDraft | None
    problem: str = ""


class LLMNamer:
    """Name segments with an LLM; fall back to the extractive namer per segment, with the reason.

    Args:
        client: The LLM client (see ``LLMClient.from_settings``).
        min_segment_users: Segments smaller than this are named from keywords only, never from
            verbatim texts.
        n_neighbours: Nearest other segments shown in each prompt for contrast.
        n_samples: Sample texts of the target (and of each neighbour, halved) in the prompt.
        fallback: Namer used when the LLM fails; ``ExtractiveNamer()`` when None.
        progress: Called as ``progress("naming segments (LLM)", done, total)``.
    """

    def __init__(self, client: LLMClient, *, min_segment_users: int = 5, n_neighbours: int = 2,
                 n_samples: int = 5, fallback: SegmentNamer | None = None,
                 progress: Progress | None = None):
        self.client = client
        self.min_segment_users = min_segment_users
        self.n_neighbours = n_neighbours
        self.n_samples = n_samples
        self.fallback = fallback
        self.progress = progress

    def name(self, evidence: Sequence[SegmentEvidence]) -> list[Segment]:
        """Return one ``Segment`` per evidence record, in the same order, names unique."""
        return [segment for segment, _ in self.name_with_drafts(evidence)]

    def name_with_drafts(self, evidence: Sequence[SegmentEvidence]) -> list[Named]:
        """Return each ``Segment`` with the LLM draft it came from (None after a fallback)."""
        extractive = (self.fallback or ExtractiveNamer()).name(evidence)
        neighbours = nearest_segments(evidence, self.n_neighbours)
        jobs = [self._job(ev, [evidence[j] for j in near])
                for ev, near in zip(evidence, neighbours, strict=True)]
        outcomes = self.client.map(self._draft, jobs, label="naming segments (LLM)",
                                   progress=self.progress)
        outcomes = self._make_unique(jobs, outcomes)
        named = [self._segment(seg, job, out)
                 for seg, job, out in zip(extractive, jobs, outcomes, strict=True)]
        n_llm = sum(draft is not None for _, draft in named)
        logger.info("named %d of %d segments with %s, %d fell back to extractive",
                    n_llm, len(named), self.client.where, len(named) - n_llm)
        return _dedupe_names(named)

    def _job(self, ev: SegmentEvidence, neighbours: Sequence[SegmentEvidence]) -> _Job:
        """Return the messages that ask for one segment's name, within the token budget."""
        budget = self.client.config.max_prompt_tokens
        payload = {
            "target": self._describe(ev, self.n_samples, budget // 2),
            "neighbours": [self._describe(nb, max(1, self.n_samples // 2),
                                          budget // (2 * max(1, len(neighbours))))
                           for nb in neighbours],
        }
        prompt = load_prompt("segment_name", ev.language)
        return _Job(ev, prompt.messages(data=fence_data(payload)), prompt,
                    load_prompt("repair", ev.language))

    def _describe(self, ev: SegmentEvidence, n_samples: int, max_tokens: int) -> dict:
        """Return what a prompt may say about one segment; no verbatim text when it is small."""
        texts = [scrub_pii(t) for t in ev.representative_texts if str(t).strip()][:n_samples]
        is_large = ev.n_users >= self.min_segment_users
        return {
            "keywords": [scrub_pii(k) for k in ev.keywords[:N_PROMPT_KEYWORDS]],
            "mean_sentiment": round(ev.sentiment, 2),
            "n_users": ev.n_users,
            "share_of_users": f"{ev.share:.1%}",
            "event_types": list(ev.top_event_types),
            "sample_texts": fit_texts(texts, max_tokens) if is_large else [],
        }

    def _draft(self, job: _Job) -> _Outcome:
        """Return the validated draft for one job, repairing an invalid reply once."""
        try:
            return _Outcome(self._ask_with_repair(job.messages, job))
        except LLMError as err:
            return _Outcome(None, _problem(err))

    def _ask_with_repair(self, messages: list[Message], job: _Job) -> SegmentNameDraft:
        """Return the draft for ``messages``; on an invalid reply, ask once more with the reason."""
        try:
            return self.client.complete(messages, prompt=job.prompt, schema=SegmentNameDraft)
        except InvalidReply as bad:
            logger.info("segment %s: invalid LLM reply (%s), repairing once",
                        job.evidence.segment_id, bad.problem)
            return self._repair(messages, job, bad.reply, bad.problem)

    def _repair(self, messages: list[Message], job: _Job, reply: str,
                problem: str) -> SegmentNameDraft:
        """Return the draft after one repair turn; ``InvalidReply`` saying so when it fails."""
        fixed = [*messages, ("assistant", reply), *job.repair.messages(problem=problem)]
        try:
            return self.client.complete(fixed, prompt=job.prompt, schema=SegmentNameDraft)
        except InvalidReply as again:
            raise InvalidReply(again.reply, f"output invalid after 1 repair: {again.problem}") \
                from None

    def _make_unique(self, jobs: Sequence[_Job], outcomes: Sequence[_Outcome]) -> list[_Outcome]:
        """Return the outcomes with each repeated name asked for again once, in segment order."""
        taken: list[str] = []
        unique = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome.draft is not None and _key(outcome.draft.name) in map(_key, taken):
                outcome = self._rename(job, outcome.draft, taken)
            if outcome.draft is not None:
                taken.append(outcome.draft.name)
            unique.append(outcome)
        return unique

    def _rename(self, job: _Job, draft: SegmentNameDraft, taken: Sequence[str]) -> _Outcome:
        """Return a draft whose name is not in ``taken``, or the reason there is none."""
        problem = (f"the name {json.dumps(draft.name, ensure_ascii=False)} is already used by "
                   f"another segment; names already taken: "
                   f"{json.dumps(list(taken), ensure_ascii=False)}")
        try:
            renamed = self._repair(job.messages, job, draft.model_dump_json(), problem)
        except LLMError as err:
            return _Outcome(None, f"duplicate name not repaired: {_problem(err)}")
        if _key(renamed.name) in map(_key, taken):
            return _Outcome(None, "llm name duplicated another segment's after 1 repair")
        return _Outcome(renamed)

    def _segment(self, extractive: Segment, job: _Job, outcome: _Outcome) -> Named:
        """Return the final record: the LLM draft on the extractive record, or the fallback."""
        if outcome.draft is None:
            note = f"llm naming failed ({outcome.problem}); extractive name used"
            return extractive.model_copy(update={"naming_note": note}), None
        return extractive.model_copy(update={
            "name": outcome.draft.name, "description": outcome.draft.description,
            "persona": outcome.draft.persona, "interests": tuple(outcome.draft.interests),
            "naming_mode": "llm",
            "naming_note": f"named by {self.client.config.model} with prompt {job.prompt.label}",
        }), outcome.draft


def nearest_segments(evidence: Sequence[SegmentEvidence], n: int) -> list[list[int]]:
    """Return, per segment, the indices of the ``n`` others sharing the most keywords (Jaccard).

    Ties (and segments sharing no keyword) are broken by closest size, then by order.
    """
    sets = [{k.casefold() for k in ev.keywords} for ev in evidence]

    def distance(i: int, j: int) -> tuple[float, float, int]:
        union = sets[i] | sets[j]
        jaccard = len(sets[i] & sets[j]) / len(union) if union else 0.0
        return (-jaccard, abs(evidence[i].share - evidence[j].share), j)

    others = range(len(evidence))
    return [sorted((j for j in others if j != i), key=partial(distance, i))[:n] for i in others]


def _problem(err: LLMError) -> str:
    """Return the reason an LLM call gave no draft, for ``naming_note``."""
    return err.problem if isinstance(err, InvalidReply) else f"call failed: {err}"


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def _dedupe_names(named: list[Named]) -> list[Named]:
    """Return ``named`` with any name still repeated (LLM vs extractive) suffixed by its id."""
    seen: set[str] = set()
    result = []
    for segment, draft in named:
        if _key(segment.name) in seen:
            segment = segment.model_copy(update={
                "name": f"{segment.name} ({segment.segment_id})",
                "naming_note": f"{segment.naming_note}; id added to keep the name unique".lstrip(
                    "; "),
            })
        seen.add(_key(segment.name))
        result.append((segment, draft))
    return result
