"""Clean the event table: strip markup, scrub PII, tag language, quarantine noise and duplicates.

``clean_events`` runs the steps in this order: HTML stripping and Unicode normalisation of the
text columns, PII scrubbing (before anything else is computed from the text), noise rules,
exact duplicates, MinHash-LSH near-duplicates, language tagging. Every input row ends up either
in ``CleanResult.events`` or in ``CleanResult.quarantine``; the first occurrence of a duplicate
(in the order of the input frame, i.e. source order) is the one kept.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from itertools import combinations
from zlib import crc32

import numpy as np
import pandas as pd
from datasketch import MinHash

from interestlens.tools.errors import ConfigError
from interestlens.tools.records import (
    EVENT_ID,
    ITEM_ID,
    ITEM_TEXT,
    LANGUAGE,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    USER,
    Progress,
    QuarantinedRow,
)
from interestlens.tools.text import PII_PLACEHOLDER

logger = logging.getLogger(__name__)

NUM_PERM = 128
MIN_NEAR_DUPLICATE_CHARS = 20  # shorter texts share too few shingles for a meaningful Jaccard
_RAW_CHARS = 200

# ---- HTML --------------------------------------------------------------------------------------
_HTML_TAGS = (
    "a abbr article aside audio b blockquote body br button caption center cite code col dd del "
    "details div dl dt em figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html "
    "i iframe img input ins label li link main mark meta nav noscript ol option p pre q s script "
    "section select small source span strike strong style sub summary sup svg table tbody td "
    "template textarea tfoot th thead time title tr u ul video wbr"
).split()
_TAG_HINT = re.compile(rf"</?(?:{'|'.join(_HTML_TAGS)})\b[^<>]*>|<!--", re.IGNORECASE)
_KNOWN_TAGS = frozenset(_HTML_TAGS)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
_BLOCK_TAGS = frozenset(
    "article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)


class _TextExtractor(HTMLParser):
    """Collect the visible text of an HTML fragment; unknown "tags" such as ``<书名>`` stay."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in _KNOWN_TAGS:
            self.handle_data(self.get_starttag_text() or "")
        elif tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _KNOWN_TAGS:
            self.handle_data(f"</{tag}>")
        elif tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Return the visible text of ``text``: tags, scripts and styles removed, entities unescaped.

    Block elements (``<p>``, ``<br>``, ``<li>``, ...) become line breaks. Text without a known
    HTML tag is only unescaped, so angle-bracket titles such as ``<三体>`` survive.
    """
    if _TAG_HINT.search(text):
        parser = _TextExtractor()
        parser.feed(text)
        parser.close()
        return "".join(parser.parts)
    return html.unescape(text) if "&" in text else text


# ---- normalisation -----------------------------------------------------------------------------
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
_HSPACE = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r" ?\n\s*")


def normalize_text(text: str) -> str:
    """Return ``text`` NFKC-normalised, without zero-width characters, whitespace collapsed.

    Runs of spaces become one space; runs of whitespace holding a line break become one newline.
    """
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    return _LINE_BREAKS.sub("\n", _HSPACE.sub(" ", text)).strip()


# ---- PII ---------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CN_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}((?:18|19|20)[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"
_CARD = re.compile(
    r"(?<![0-9A-Za-z-])(?:[0-9]{15,16}|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{5})(?![0-9A-Za-z-])"
)
_PHONE = re.compile(
    r"""(?<![0-9A-Za-z+-])(?:
        (?:(?:\+|00)86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}      # Chinese mobile
      | (?:\(0[0-9]{2,3}\)[ ]?|0[0-9]{2,3}-)[0-9]{7,8}             # Chinese landline
      | \+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,5}           # international, +CC ...
      | (?:\([0-9]{3}\)[ ]?|[0-9]{3}[-.])[0-9]{3}[-.][0-9]{4}      # US
    )(?![0-9A-Za-z])""",
    re.VERBOSE,
)
_DIGIT_RUN = re.compile(r"[0-9][0-9 ()+.-]{6,}[0-9]")


def _is_cn_id(match: re.Match) -> bool:
    number = match.group(0).upper()
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number, _CN_ID_WEIGHTS, strict=False))
    return _CN_ID_CHECK[total % 11] == number[-1]


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(match: re.Match) -> bool:
    return _passes_luhn(re.sub(r"[ -]", "", match.group(0)))


def _is_phone(match: re.Match) -> bool:
    return 7 <= sum(char.isdigit() for char in match.group(0)) <= 15


def _replace_valid(
    pattern: re.Pattern, is_valid: Callable[[re.Match], bool], token: str, text: str
) -> str:
    return pattern.sub(lambda m: token if is_valid(m) else m.group(0), text)


def scrub_pii(text: str) -> str:
    """Replace emails, phone numbers, Chinese ID numbers and card numbers with placeholders.

    ID numbers must carry a real date and a valid ISO 7064 check character, card numbers must
    pass Luhn, so order numbers, prices, years, dates and model numbers are left alone.

    Returns:
        ``text`` with ``[EMAIL]``, ``[PHONE]``, ``[ID]`` and ``[CARD]`` in place of the PII.
    """
    if "@" in text:
        text = _EMAIL.sub("[EMAIL]", text)
    if not _DIGIT_RUN.search(text):
        return text
    text = _replace_valid(_CN_ID, _is_cn_id, "[ID]", text)
    text = _replace_valid(_CARD, _is_card, "[CARD]", text)
    return _replace_valid(_PHONE, _is_phone, "[PHONE]", text)


# ---- language ----------------------------------------------------------------------------------
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\u1100-\u11ff\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def detect_language(text: str) -> str:
    """Return the language of ``text``: "zh", "en" or "other".

    "zh" when Han characters make up >= 30 % of the letters (and kana/hangul < 10 %), "en" when
    Latin letters make up >= 50 %. Links and PII placeholders are not counted.
    """
    if "[" in text or "://" in text or "www." in text:
        text = PII_PLACEHOLDER.sub(" ", _URL.sub(" ", text))
    n_letters = len(_LETTER.findall(text))
    if not n_letters:
        return "other"
    if len(_HAN.findall(text)) >= 0.3 * n_letters and (
        not _KANA_HANGUL.search(text) or len(_KANA_HANGUL.findall(text)) < 0.1 * n_letters
    ):
        return "zh"
    return "en" if len(_LATIN.findall(text)) >= 0.5 * n_letters else "other"


# ---- noise -------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")
_REPEATED = re.compile(r"(.{1,3}?)\1{2,}[\W_]*", re.DOTALL)
_ALNUM = re.compile(r"[^\W_]")


def _noise_reason(text: str, min_chars: int) -> str | None:
    """Return why ``text`` (already cleaned) is noise, or None when it is a usable text."""
    if not text:
        return "empty after cleaning"
    compact = _SPACE.sub("", text)
    if len(compact) < min_chars:
        return "too short"
    if _REPEATED.fullmatch(compact):
        return "repeated characters"
    without_links = _URL.sub(" ", text)
    if without_links != text and not _ALNUM.search(without_links):
        return "only a link"
    if not _LETTER.search(PII_PLACEHOLDER.sub(" ", without_links)):
        return "no words (only symbols/digits)"
    return None


# ---- duplicates --------------------------------------------------------------------------------
_NON_WORD = re.compile(r"[\W_]+")


def _dedup_key(text: str) -> str:
    """Return the comparison form of a text: casefolded, punctuation and whitespace collapsed."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def _shingles(key: str, language: str) -> list[bytes]:
    """Return character 3-grams for Chinese (no word gaps), 5-grams otherwise, as UTF-32 bytes."""
    width = 4 * (3 if language == "zh" else 5)
    encoded = key.encode("utf-32-le")
    return [encoded[start:start + width] for start in range(0, len(encoded) - width + 4, 4)]


def _exact_duplicates(keys: pd.Series, scopes: pd.Series, alive: np.ndarray) -> dict[int, int]:
    """Return {position: position of the first occurrence} for exact duplicates among ``alive``."""
    frame = pd.DataFrame({"scope": scopes, "key": keys, "pos": np.arange(len(keys))})[alive]
    first = frame.groupby(["scope", "key"], sort=False)["pos"].transform("min")
    is_dup = (frame["pos"] != first).to_numpy()
    positions, firsts = frame["pos"].to_numpy()[is_dup], first.to_numpy()[is_dup]
    return dict(zip(positions.tolist(), firsts.tolist(), strict=True))


def _signatures(shingles: list[list[bytes]]) -> np.ndarray:
    """Return the datasketch MinHash signature of each shingle list, one row per list."""
    signatures = np.empty((len(shingles), NUM_PERM), dtype=np.uint64)
    for row, minhash in enumerate(MinHash.generator(shingles, num_perm=NUM_PERM, hashfunc=crc32)):
        signatures[row] = minhash.hashvalues
    return signatures


def _band_rows(threshold: float) -> int:
    """Return the most rows per LSH band that still give >= 99 % recall at ``threshold``."""
    return next(
        rows for rows in range(NUM_PERM, 0, -1)
        if 1 - (1 - threshold**rows) ** (NUM_PERM // rows) >= 0.99
    )


def _candidate_pairs(signatures: np.ndarray, scope_codes: np.ndarray, rows: int) -> set:
    """Return the (earlier, later) row pairs of one scope that share at least one LSH band.

    The banding runs on the whole signature matrix in numpy: ``MinHashLSH.insert`` takes one
    key at a time and needs ~8 s for 50k texts, this takes well under a second.
    """
    pairs: set[tuple[int, int]] = set()
    for start in range(0, NUM_PERM - rows + 1, rows):
        band = pd.DataFrame(signatures[:, start:start + rows]).assign(scope=scope_codes)
        hashes = pd.util.hash_pandas_object(band, index=False).to_numpy()
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        run_starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        run_lengths = np.diff(np.r_[run_starts, len(order)])
        shared = run_lengths > 1
        for run_start, length in zip(run_starts[shared], run_lengths[shared], strict=True):
            members = sorted(order[run_start:run_start + length].tolist())
            pairs.update(combinations(members, 2))
    return pairs


def _near_duplicates(
    keys: list[str], languages: list[str], scopes: pd.Series, candidates: list[int], *,
    threshold: float,
) -> dict[int, int]:
    """Return {position: position of the kept near-twin} for near-duplicates among ``candidates``.

    LSH proposes pairs; each is confirmed with the exact Jaccard of the shingle sets, and a text
    is only compared with earlier texts that were kept.
    """
    shingles = [_shingles(keys[pos], languages[pos]) for pos in candidates]
    scope_codes = pd.factorize(scopes.iloc[candidates])[0].astype(np.uint64)
    earlier: dict[int, list[int]] = {}
    pairs = _candidate_pairs(_signatures(shingles), scope_codes, _band_rows(threshold))
    for first, second in sorted(pairs):
        earlier.setdefault(second, []).append(first)
    sets: dict[int, set[bytes]] = {}
    twins: dict[int, int] = {}
    for later in sorted(earlier):
        for first in earlier[later]:
            left = sets.setdefault(first, set(shingles[first]))
            right = sets.setdefault(later, set(shingles[later]))
            is_near = len(left & right) >= threshold * len(left | right)
            if is_near and candidates[first] not in twins:
                twins[candidates[later]] = candidates[first]
                break
    return twins


def _find_duplicates(
    texts: list[str],
    languages: list[str],
    scopes: pd.Series,
    noise: set[int],
    *,
    threshold: float,
    progress: Progress | None,
) -> tuple[dict[int, int], dict[int, int]]:
    """Return the exact and the near duplicates, each as {position: position of the kept twin}."""
    keys = [_dedup_key(text) for text in texts]
    alive = np.array([pos not in noise for pos in range(len(texts))], dtype=bool)
    exact = _exact_duplicates(pd.Series(keys, dtype=object), scopes, alive)
    candidates = [
        pos for pos in range(len(texts))
        if alive[pos] and pos not in exact and len(keys[pos]) >= MIN_NEAR_DUPLICATE_CHARS
    ]
    if progress is not None:
        progress("clean: near-duplicates", 0, len(candidates))
    near = _near_duplicates(keys, languages, scopes, candidates, threshold=threshold)
    if progress is not None:
        progress("clean: near-duplicates", len(candidates), len(candidates))
    return exact, near


# ---- the stage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanResult:
    """What ``clean_events`` kept and what it set aside.

    Args:
        events: Kept rows: the input columns (texts cleaned) plus ``LANGUAGE``, index reset.
        quarantine: One record per dropped row, in input order.
        n_exact_duplicates: Rows dropped as exact duplicates.
        n_near_duplicates: Rows dropped as near-duplicates.
        n_noise: Rows dropped by the noise rules.
    """

    events: pd.DataFrame
    quarantine: list[QuarantinedRow]
    n_exact_duplicates: int
    n_near_duplicates: int
    n_noise: int


def _cleaned_copy(events: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``events`` with both text columns cleaned and ``LANGUAGE`` added."""
    cleaned = events.copy()
    for column in (TEXT, ITEM_TEXT):
        cleaned[column] = pd.Series(
            [scrub_pii(normalize_text(strip_html(v))) if isinstance(v, str) else v
             for v in events[column]],
            index=events.index, dtype=object,
        )
    cleaned[LANGUAGE] = [detect_language(text) for text in cleaned[TEXT].fillna("")]
    return cleaned


def _scopes(events: pd.DataFrame, document_mode: bool) -> pd.Series:
    """Return the duplicate scope of each row: one scope in document mode, else user + item."""
    if document_mode:
        return pd.Series([""] * len(events), dtype=object)
    users = events[USER].astype(object).where(events[USER].notna(), "").astype(str)
    items = events[ITEM_ID].astype(object).where(events[ITEM_ID].notna(), "").astype(str)
    return (users + "\x1f" + items).reset_index(drop=True)


def _quarantine_row(events: pd.DataFrame, pos: int, reason: str) -> QuarantinedRow:
    source, row, text = events[SOURCE].iat[pos], events[SOURCE_ROW].iat[pos], events[TEXT].iat[pos]
    return QuarantinedRow(
        source="" if pd.isna(source) else str(source),
        row=None if pd.isna(row) else int(row),
        reason=reason,
        raw=scrub_pii(text)[:_RAW_CHARS] if isinstance(text, str) else "",
    )


def clean_events(
    events: pd.DataFrame,
    *,
    document_mode: bool = False,
    min_chars: int = 2,
    near_duplicate_threshold: float = 0.9,
    earlier: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> CleanResult:
    """Clean texts, quarantine noise and duplicates, and tag the language of each kept event.

    Args:
        events: Event table with the ``EVENT_COLUMNS``; not modified.
        document_mode: Look for duplicates across the whole table (each row is its own user)
            instead of within one user and item.
        min_chars: Texts with fewer non-space characters are quarantined as too short.
        near_duplicate_threshold: Character-shingle Jaccard from which a text is a near-duplicate
            of an earlier one; texts under 20 characters are only checked for exact duplicates.
        earlier: Events kept before (a store's: cleaned ``TEXT``, ``LANGUAGE``, ``USER``,
            ``ITEM_ID``, ``EVENT_ID``): a row that duplicates one of them is quarantined as its
            duplicate, as if both had come in one input. They are not returned.
        progress: Called as ``progress(label, done, total)``.

    Returns:
        The kept events and the quarantined rows; ``len(events)`` is the sum of both.

    Raises:
        ConfigError: ``near_duplicate_threshold`` is not in (0, 1].
    """
    if not 0 < near_duplicate_threshold <= 1:
        raise ConfigError(
            f"near_duplicate_threshold must be in (0, 1], got {near_duplicate_threshold}"
        )
    if progress is not None:
        progress("clean: texts", 0, len(events))
    cleaned = _cleaned_copy(events)
    texts = cleaned[TEXT].fillna("").tolist()
    if progress is not None:
        progress("clean: texts", len(events), len(events))
    reasons = {
        pos: reason for pos, text in enumerate(texts)
        if (reason := _noise_reason(text, min_chars)) is not None
    }
    n_noise = len(reasons)
    before = (pd.DataFrame(columns=[TEXT, LANGUAGE, USER, ITEM_ID, EVENT_ID]) if earlier is None
              else earlier.reset_index(drop=True))
    shift = len(before)  # earlier rows come first, so they are the twins that are kept
    exact, near = _find_duplicates(
        [*before[TEXT].fillna("").astype(str), *texts],
        [*before[LANGUAGE].astype(str), *cleaned[LANGUAGE]],
        pd.concat([_scopes(before, document_mode), _scopes(events, document_mode)],
                  ignore_index=True),
        {pos + shift for pos in reasons}, threshold=near_duplicate_threshold, progress=progress,
    )
    exact, near = ({pos - shift: twin for pos, twin in found.items() if pos >= shift}
                   for found in (exact, near))
    event_ids = [*before[EVENT_ID], *events[EVENT_ID]]
    reasons.update({pos: f"duplicate of event {event_ids[twin]}" for pos, twin in exact.items()})
    reasons.update({p: f"near-duplicate of event {event_ids[t]}" for p, t in near.items()})
    kept = np.array([pos not in reasons for pos in range(len(texts))], dtype=bool)
    logger.info(
        "clean: kept %d of %d events (%d noise, %d exact and %d near duplicates)",
        int(kept.sum()), len(events), n_noise, len(exact), len(near),
    )
    return CleanResult(
        events=cleaned[kept].reset_index(drop=True),
        quarantine=[_quarantine_row(events, pos, reasons[pos]) for pos in sorted(reasons)],
        n_exact_duplicates=len(exact),
        n_near_duplicates=len(near),
        n_noise=n_noise,
    )
