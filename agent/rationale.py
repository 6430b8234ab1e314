"""LLM rationales for recommendations: one or two sentences citing user interests and item.

Offline (no client) the templated, evidence-quoting reasons written by ``tools.recommend`` stay as
they are (``reason_mode="template"``). With a client, each (user, item) pair is explained by the
LLM (``reason_mode="llm"``); a pair whose call fails or whose reply is unusable keeps its template
reason, and the count of such fallbacks is logged and returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field, field_validator

from interestlens.agent.llm import LLMClient, truncate_to_tokens
from interestlens.agent.prompts import fence_data, load_prompt
from interestlens.tools.clean import detect_language, scrub_pii
from interestlens.tools.errors import LLMError
from interestlens.tools.records import Progress, Recommendation

logger = logging.getLogger(__name__)

N_INTERESTS = 8
MAX_SENTENCES = 2
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|[。！？]")


class RationaleDraft(BaseModel):
    """What the LLM must return for one recommendation."""

    reason: str = Field(min_length=1, max_length=400)

    @field_validator("reason")
    @classmethod
    def _one_or_two_sentences(cls, reason: str) -> str:
        reason = " ".join(reason.split())
        if not reason:
            raise ValueError("reason is blank")
        if len(_SENTENCE_END.findall(reason)) > MAX_SENTENCES:
            raise ValueError(f"reason must be at most {MAX_SENTENCES} sentences")
        return reason


@dataclass(frozen=True)
class Rationales:
    """Recommendations with their reasons, and how many kept the template after an LLM failure."""

    recommendations: list[Recommendation]
    n_fallbacks: int = 0


def explain_recommendations(
    recommendations: Sequence[Recommendation],
    *,
    interests: Mapping[str, Sequence[str]],
    client: LLMClient | None,
    progress: Progress | None = None,
) -> Rationales:
    """Return the recommendations with LLM rationales, or unchanged (templated) when offline.

    Args:
        recommendations: Records whose ``reason`` holds the templated rationale.
        interests: Interest keywords of each recommendation owner (user or segment id).
        client: LLM client; None keeps the templated reasons (offline mode).
        progress: Called as ``progress("explaining recommendations (LLM)", done, total)``.
    """
    if client is None:
        return Rationales(list(recommendations))
    explained = client.map(
        lambda rec: _explain(rec, interests.get(rec.user, ()), client), recommendations,
        label="explaining recommendations (LLM)", progress=progress,
    )
    n_fallbacks = sum(rec.reason_mode != "llm" for rec in explained)
    if n_fallbacks:
        logger.warning("%d of %d recommendation rationales kept their template after LLM errors",
                       n_fallbacks, len(explained))
    return Rationales(explained, n_fallbacks)


def _explain(rec: Recommendation, interests: Sequence[str], client: LLMClient) -> Recommendation:
    """Return ``rec`` with an LLM reason, or unchanged when the call or its reply fails."""
    budget = client.config.max_prompt_tokens
    payload = {
        "user_interests": [scrub_pii(str(i)) for i in interests if str(i).strip()][:N_INTERESTS],
        "item": truncate_to_tokens(scrub_pii(rec.item_text), budget // 2),
    }
    language = detect_language(" ".join([rec.item_text, *payload["user_interests"]]))
    prompt = load_prompt("rationale", language)
    try:
        draft = client.complete(prompt.messages(data=fence_data(payload)), prompt=prompt,
                                schema=RationaleDraft)
    except LLMError as err:
        logger.info("rationale for %s/%s kept its template: %s", rec.user, rec.item_id, err)
        return rec
    return rec.model_copy(update={"reason": draft.reason, "reason_mode": "llm"})
