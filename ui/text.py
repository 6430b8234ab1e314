"""Turn facade values into safe, readable Markdown/HTML: data text is escaped, never markup."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from interestlens.agent import InterestLensError, excerpt, sentiment_word

logger = logging.getLogger(__name__)

T = TypeVar("T")
MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]|#~$"} | {"<": "&lt;", ">": "&gt;"})
# A rendered query result (agent.render.render_table) starts with "N rows" / "共 N 行".
TABLE_LEAD = re.compile(r"^(\d[\d,]* rows?|共 \d[\d,]* 行)$")
SENTIMENT_MARKS = {"positive": "▲", "mixed": "●", "negative": "▼"}  # glyphs of common fonts


def md(text: object) -> str:
    """Return ``text`` on one line with Markdown and HTML specials escaped."""
    return " ".join(str(text).split()).translate(MD_SPECIAL)


def chip(text: object) -> str:
    """Return ``text`` as an inline code chip (backticks removed from the data)."""
    return f"`{' '.join(str(text).replace('`', '').split()) or ' '}`"


def chips(words: Sequence[str], limit: int = 12) -> str:
    """Return up to ``limit`` words as chips, or a dash when there are none."""
    return " ".join(chip(w) for w in words[:limit]) or "—"


def sentiment(score: float, *, markup: bool = True) -> str:
    """Return a mark, the word and the score, e.g. "▲ positive (+0.41)"; coloured in markup."""
    word = sentiment_word(score)
    mark = SENTIMENT_MARKS.get(word, "")
    if markup:
        mark = f'<span class="il-{word}">{mark}</span>'
    return f"{mark} {word} ({score:+.2f})"


def share(value: float) -> str:
    """Return a 0..1 share as "12.5 %"."""
    return f"{value * 100:.1f} %"


def languages(share: dict[str, float]) -> str:
    """Return language shares largest first, e.g. "zh 98%, en 2%" (shares under 0.5 % left out)."""
    shown = sorted(((v, k) for k, v in share.items() if v >= 0.005), reverse=True)
    return ", ".join(f"{md(k)} {v:.0%}" for v, k in shown) or "—"


def quote(text: str, width: int = 240) -> str:
    """Return ``text`` as an escaped Markdown block quote, cut to ``width`` characters."""
    return f"> {md(excerpt(text, width))}"


def badge(text: str, kind: str) -> str:
    """Return an HTML badge; ``kind`` picks its colour (``llm``, ``offline``, ``warn``)."""
    return f'<span class="il-badge il-{kind}">{html.escape(text)}</span>'


def answer_markdown(text: str) -> str:
    """Return an agent answer with its aligned query tables kept aligned (as code blocks)."""
    lines, out, in_table = text.splitlines(), [], False
    for line in lines:
        if in_table and not line.strip():
            out.append("```")
            in_table = False
        out.append(line)
        if not in_table and TABLE_LEAD.match(line.strip()):
            out.append("```text")
            in_table = True
    if in_table:
        out.append("```")
    return "\n".join(out)


def error_line(err: BaseException) -> str:
    """Return one line describing ``err`` for the page; unexpected errors go to the log."""
    if isinstance(err, InterestLensError):
        return f"⚠ {err}"
    logger.error("unexpected error in the UI", exc_info=err)
    return (f"⚠ Unexpected {type(err).__name__}: {excerpt(str(err), 200)} "
            "(details in the server log)")


def attempt(action: Callable[[], T]) -> tuple[T | None, str]:
    """Return ``(action(), "")``, or ``(None, one-line message)`` when it raises."""
    try:
        return action(), ""
    except Exception as err:  # the page shows one line; the log keeps unexpected tracebacks
        return None, error_line(err)
