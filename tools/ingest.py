"""Ingest: read files, folders or a DataFrame into one validated event table.

Each input is one source. File formats and the Stack Exchange / MovieLens folders are read by
``tools.connectors``; this module detects which column plays which role, moves unusable rows to
quarantine, parses timestamps, and unifies the sources (document mode when no source has users).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from interestlens.tools.connectors import (
    FILE_KINDS,
    MOVIELENS_ROLES,
    STACKEXCHANGE_ROLES,
    RawTable,
    content_event_ids,
    load_movielens,
    load_stackexchange,
    make_events,
    quarantine_rows,
    read_table,
    short_repr,
)
from interestlens.tools.errors import ConfigError, InputError
from interestlens.tools.name import count_noun
from interestlens.tools.records import (
    EVENT_ID,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    USER,
    ColumnRoles,
    Progress,
    QuarantinedRow,
    SourceSummary,
)

logger = logging.getLogger(__name__)

ROLES = ("user", "text", "timestamp", "event_type", "item_id", "item_text", "row_id")
_ROLE_ALIASES = {"time": "timestamp", "type": "event_type", "item": "item_id", "id": "row_id"}
# Header names per role, normalised (lower case, no spaces, underscores or hyphens); disjoint.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "user": ("userid", "user", "uid", "username", "author", "authorid", "owner", "owneruserid",
             "customerid", "customer", "memberid", "reviewerid", "accountid", "用户id", "用户",
             "用户名", "会员id", "会员", "买家", "作者"),
    "text": ("text", "content", "review", "comment", "body", "message", "post", "reviewtext",
             "commenttext", "reviewbody", "sentence", "评论", "内容", "正文", "文本", "评价",
             "留言", "评论内容"),
    "timestamp": ("timestamp", "time", "date", "datetime", "createdat", "createdate",
                  "creationdate", "eventtime", "ts", "时间", "日期", "发布时间", "创建时间",
                  "评论时间"),
    "event_type": ("eventtype", "event", "type", "action", "behavior", "behaviour", "actiontype",
                   "行为", "类型", "事件", "行为类型"),
    "item_id": ("itemid", "productid", "sku", "movieid", "asin", "商品id", "物品id", "商品编号"),
    "item_text": ("itemtext", "itemtitle", "itemname", "productname", "producttitle", "商品名称",
                  "商品标题", "商品名"),
    "row_id": ("id", "rowid", "reviewid", "docid", "documentid", "编号", "序号"),
}
_NULL_TOKENS = frozenset({"", "n/a", "na", "null", "none", "nan", "-"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CHINESE_DATE = r"(\d{4})\s*[年/.]\s*(\d{1,2})\s*[月/.]\s*(\d{1,2})\s*日?"
_TEXT_REASONS = {"empty": "empty text", "nested": "text is a list/object, not a string",
                 "number": "text is a number, not text"}


def parse_column_map(spec: str | None) -> dict[str, str]:
    """Parse a ``--map`` value such as ``"text=review,user=uid"`` into ``{role: column}``.

    Aliases: ``time`` (timestamp), ``type`` (event_type), ``item`` (item_id), ``id`` (row_id).

    Raises:
        ConfigError: A pair is malformed, a role is unknown, or a role is given twice.
    """
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in (spec or "").split(","))):
        role, sep, column = (part.strip() for part in pair.partition("="))
        if not (sep and role and column):
            raise ConfigError(f"--map: malformed pair {pair!r}; expected ROLE=COLUMN, "
                              "e.g. text=review")
        role = _role_name(role)
        if role in mapping:
            raise ConfigError(f"--map: role {role!r} is given twice")
        mapping[role] = column
    return mapping


def _role_name(name: str) -> str:
    role = _ROLE_ALIASES.get(name.strip().lower(), name.strip().lower())
    if role not in ROLES:
        raise ConfigError(f"--map: unknown role {name!r}; roles are {', '.join(ROLES)} "
                          "(aliases: time, type, item, id)")
    return role


@dataclass(frozen=True)
class IngestResult:
    """What ``load_events`` made of its inputs.

    Attributes:
        events: One row per kept event, columns ``EVENT_COLUMNS`` in that order.
        quarantine: Rows that were not kept, and why.
        sources: One summary per input source, in input order.
        is_document_mode: True when no source has a user column (each row is its own "user").
        n_input_rows: Data rows read; always ``len(events) + len(quarantine)``.
    """

    events: pd.DataFrame
    quarantine: list[QuarantinedRow]
    sources: list[SourceSummary]
    is_document_mode: bool
    n_input_rows: int


@dataclass(frozen=True)
class _Part:
    """One source's events before the sources are unified (users may still be missing)."""

    events: pd.DataFrame
    quarantine: list[QuarantinedRow]
    summary: SourceSummary
    doc_ids: np.ndarray | None  # row-id value per event (or None); None if it has users


def load_events(
    inputs: Sequence[Path | str] | pd.DataFrame,
    *,
    column_map: Mapping[str, str] | None = None,
    max_text_chars: int = 100_000,
    progress: Progress | None = None,
) -> IngestResult:
    """Load files, Stack Exchange / MovieLens folders, or a DataFrame into one event table.

    Args:
        inputs: Paths (each one source) or a DataFrame (source name ``"dataframe"``).
        column_map: ``{role: column}`` overriding detected roles; aliases as in
            :func:`parse_column_map`.
        max_text_chars: Longer texts are quarantined.
        progress: Called as ``progress("ingest", n_sources_done, n_sources)``.

    Returns:
        The unified events, the quarantine, and a summary per source.

    Raises:
        InputError: A source cannot be used as a whole.
        ConfigError: ``column_map`` names an unknown role, or no input is given.
    """
    mapping = {_role_name(role): column for role, column in (column_map or {}).items()}
    inputs = [inputs] if isinstance(inputs, (str, Path, pd.DataFrame)) else list(inputs)
    if not inputs:
        raise ConfigError("no input given")
    parts = []
    for source in inputs:
        parts.append(_load_source(source, mapping, max_text_chars))
        if progress is not None:
            progress("ingest", len(parts), len(inputs))
    return _unify(parts)


def _load_source(source: Path | str | pd.DataFrame, mapping: dict[str, str],
                 max_chars: int) -> _Part:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        return _table_part("dataframe", RawTable(frame, [], "dataframe", None), mapping, max_chars)
    path = Path(source)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir():
        return _folder_part(path, max_chars)
    if path.suffix.lower() not in FILE_KINDS:
        raise InputError(path, f"unsupported file type '{path.suffix}' (expected csv, tsv, json, "
                               "jsonl, parquet or a Stack Exchange/MovieLens folder)")
    return _table_part(path, read_table(path), mapping, max_chars)


def _folder_part(folder: Path, max_chars: int) -> _Part:
    if (folder / "Posts.xml").is_file():
        kind, roles, (events, quarantine, n_rows) = (
            "stackexchange", STACKEXCHANGE_ROLES, load_stackexchange(folder))
    elif (folder / "ratings.csv").is_file() and (folder / "movies.csv").is_file():
        kind, roles, (events, quarantine, n_rows) = (
            "movielens", MOVIELENS_ROLES, load_movielens(folder))
    else:
        raise InputError(folder, "folder is neither a Stack Exchange dump (Posts.xml) nor "
                                 "MovieLens (ratings.csv and movies.csv)")
    reasons = _text_problems(events[TEXT], max_chars).dropna()
    quarantine = quarantine + [
        QuarantinedRow(source=events.at[i, SOURCE], row=int(events.at[i, SOURCE_ROW]),
                       reason=reason, raw=short_repr(events.loc[i].to_dict()))
        for i, reason in reasons.items()]
    events = events.drop(index=reasons.index)
    summary = SourceSummary(source=folder.name, kind=kind, encoding="utf-8", roles=roles,
                            n_rows=n_rows, n_kept=len(events))
    return _Part(events, quarantine, summary, doc_ids=None)


def _table_part(where: Path | str, table: RawTable, mapping: dict[str, str],
                max_chars: int) -> _Part:
    name = Path(where).name
    roles = _detect_roles(table.frame, mapping, where)
    frame = table.frame
    reasons = _row_problems(frame, roles, max_chars)
    stamps = _parse_timestamps(frame[roles.timestamp]) if roles.timestamp else None
    if stamps is not None:
        bad_stamps = _timestamp_problems(frame[roles.timestamp], stamps).where(reasons.isna())
        if bad_stamps.notna().any():
            logger.warning("%s: timestamp is not a usable date in %s; quarantined", name,
                           count_noun(int(bad_stamps.notna().sum()), "row"))
        reasons = reasons.where(reasons.notna(), bad_stamps)
    kept = frame[reasons.isna()]

    def column(role: str) -> pd.Series | None:
        col = getattr(roles, role)
        return None if col is None else _cell_strings(kept[col])

    event_type = column("event_type")
    events = make_events(
        name, kept.index, user=column("user"),
        timestamp=pd.NaT if stamps is None else stamps[kept.index],
        event_type="event" if event_type is None else event_type.str.lower().fillna("event"),
        text=kept[roles.text].map(str).str.replace("\ufeff", "", regex=False),
        item_id=column("item_id"), item_text=column("item_text"))
    quarantine = sorted(table.quarantine + quarantine_rows(name, frame, reasons),
                        key=lambda q: q.row)
    summary = SourceSummary(source=name, kind=table.kind, encoding=table.encoding, roles=roles,
                            n_rows=len(frame) + len(table.quarantine), n_kept=len(events))
    logger.info("%s: %s, encoding %s, roles %s; kept %d of %d rows", name, table.kind,
                table.encoding, roles.model_dump(exclude_none=True), len(events), summary.n_rows)
    row_ids = column("row_id")
    if row_ids is not None and not roles.user and row_ids.dropna().duplicated().any():
        logger.warning("%s: id column %r repeats values (%s for %s); rows with the same id "
                       "are one user", name, roles.row_id,
                       count_noun(row_ids.nunique(), "distinct id"), count_noun(len(kept), "row"))
    doc_ids = None if roles.user else (np.full(len(kept), None, dtype=object) if row_ids is None
                                       else row_ids.to_numpy(dtype=object))
    return _Part(events, quarantine, summary, doc_ids=doc_ids)


def _normalise(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", header.replace("\ufeff", "")).lower()


def _detect_roles(frame: pd.DataFrame, mapping: dict[str, str], where: Path | str) -> ColumnRoles:
    """Assign roles to columns: mapped ones first, then by header name, then guess the text."""
    columns = [str(c) for c in frame.columns]
    missing = [f"{role}={col}" for role, col in mapping.items() if col not in columns]
    if missing:
        raise InputError(where, f"mapped column not found: {', '.join(missing)} "
                                f"(columns: {', '.join(columns)})")
    roles = dict(mapping)
    free = [c for c in columns if c not in mapping.values()]
    for role, names in _HEADER_NAMES.items():
        ranked = [(names.index(_normalise(c)), i, c) for i, c in enumerate(free)
                  if role not in roles and _normalise(c) in names]
        if ranked:
            roles[role] = min(ranked)[2]
            free.remove(roles[role])
    if "text" not in roles:
        roles["text"] = _guess_text_column(frame, free, where)
    return ColumnRoles(**roles)


def _guess_text_column(frame: pd.DataFrame, free: list[str], where: Path | str) -> str:
    """Pick the non-numeric string column with the longest mean length (>= 10 characters)."""
    best, best_length = None, 0.0
    sample = frame.head(1000)
    for col in free if len(frame.columns) > 1 else []:
        kinds = _cell_kinds(sample[col])
        if (kinds == "text").mean() >= 0.5:
            length = sample[col][kinds == "text"].map(
                lambda v: len(v) if isinstance(v, str) else 0).mean()
            best, best_length = (col, length) if length > best_length else (best, best_length)
    if best is None or best_length < 10:
        columns = ", ".join(map(str, frame.columns))
        hint = "; a single column: is the delimiter wrong?" if len(frame.columns) == 1 else ""
        raise InputError(where, f"no text column found (columns: {columns}){hint}; "
                                "use --map text=COLUMN")
    logger.info("%s: no text column by name; using %r (mean length %.0f characters)",
                Path(where).name, best, best_length)
    return best


def _is_missing(value: object) -> bool:
    return (value is None or value is pd.NA or value is pd.NaT
            or (isinstance(value, float) and math.isnan(value)))


def _scalar_kind(value: object) -> str:
    """Classify a non-string cell as ``"empty"``, ``"nested"``, ``"number"`` or ``"text"``."""
    if _is_missing(value):
        return "empty"
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return "nested"
    return "number" if isinstance(value, (bool, int, float, np.number, np.bool_)) else "text"


def _cell_kinds(values: pd.Series) -> pd.Series:
    """Classify each cell as ``"empty"``, ``"nested"``, ``"number"`` or ``"text"``."""
    is_str = values.map(type).eq(str).to_numpy(dtype=bool)
    kinds = pd.Series("text", index=values.index, dtype=object)
    kinds[~is_str] = values[~is_str].map(_scalar_kind)
    stripped = values[is_str].astype("str").str.replace("\ufeff", "", regex=False).str.strip()
    kinds[is_str] = np.select(
        [stripped.str.lower().isin(_NULL_TOKENS).to_numpy(dtype=bool),
         stripped.str.fullmatch(_NUMBER.pattern).to_numpy(dtype=bool)], ["empty", "number"], "text")
    return kinds


def _cell_strings(values: pd.Series) -> pd.Series:
    """Turn cells into stripped strings (integral floats without ``.0``); empty cells to None."""

    def convert(value: object) -> str | None:
        if _is_missing(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return None if text.lower() in _NULL_TOKENS else text

    return values.map(convert).astype(object)


def _text_problems(values: pd.Series, max_chars: int) -> pd.Series:
    """Return the quarantine reason of each text cell, NaN where the text is usable."""
    reasons = _cell_kinds(values).map(_TEXT_REASONS).astype(object)
    too_long = values.map(lambda v: isinstance(v, str) and len(v) > max_chars).astype(bool)
    reasons[reasons.isna() & too_long] = f"text longer than {max_chars} characters"
    return reasons


def _row_problems(frame: pd.DataFrame, roles: ColumnRoles, max_chars: int) -> pd.Series:
    """Return the first quarantine reason of each row (text, then user, then other roles)."""
    reasons = _text_problems(frame[roles.text], max_chars)
    for role in ("user", "timestamp", "item_id", "item_text", "event_type", "row_id"):
        col = getattr(roles, role)
        if col is None or col == roles.text:
            continue
        kinds = _cell_kinds(frame[col])
        reasons = reasons.where(reasons.notna(), kinds.map(
            {"nested": f"{role} is a list/object", **({"empty": "empty user"}
                                                       if role == "user" else {})}))
    return reasons


def _timestamp_problems(values: pd.Series, stamps: pd.Series) -> pd.Series:
    """Return why a row's timestamp is unusable, NaN where it is fine.

    A text cell that did not parse "is not a date"; a date outside the years 1678-2261 (what
    pandas' nanosecond times hold, which decay and recency use) is out of range. Empty cells and
    numbers that are not epoch times stay unparsed (NaT) without a reason.
    """
    shown = "timestamp " + values.map(repr).str.slice(0, 40)
    failed = (_cell_kinds(values) == "text") & stamps.isna()
    out_of_range = stamps.notna() & ~stamps.between(_EARLIEST_TIME, _LATEST_TIME)
    return (shown + " is not a date").where(failed).fillna(
        (shown + " is outside the years 1678-2261").where(out_of_range))


_EARLIEST_TIME = pd.Timestamp("1678-01-01", tz="UTC")
_LATEST_TIME = pd.Timestamp("2261-12-31 23:59:59", tz="UTC")


def _parse_timestamps(values: pd.Series) -> pd.Series:
    """Parse ISO / Chinese date strings and epoch seconds or milliseconds into UTC; else NaT.

    Numbers from 1e8 to 1e11 are epoch seconds, from 1e11 to 1e14 epoch milliseconds; other
    numbers (years, scores) are not taken as times. Times without a zone are taken as UTC.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    cells = values.map(lambda v: v.strip() if isinstance(v, str) else v).astype(object)
    kinds = _cell_kinds(cells)
    numbers = pd.to_numeric(cells.where(kinds == "number"), errors="coerce")
    is_epoch = numbers.between(1e8, 1e14, inclusive="left")
    seconds = numbers.where(numbers < 1e11, numbers / 1000).where(is_epoch)
    stamps = pd.to_datetime(seconds, unit="s", utc=True).astype("datetime64[us, UTC]")
    strings = cells[~is_epoch & (kinds == "text")].astype(str).str.replace(
        _CHINESE_DATE, lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d} ", regex=True).str.strip()
    parsed = pd.to_datetime(strings, utc=True, errors="coerce", format="ISO8601").astype(
        "datetime64[us, UTC]")
    failed = strings[parsed.isna()]
    if len(failed):
        unique = failed.drop_duplicates()
        retry = dict(zip(unique, pd.to_datetime(unique, utc=True, errors="coerce", format="mixed"),
                         strict=True))
        parsed[failed.index] = pd.to_datetime(failed.map(retry), utc=True)  # all-NaT: tz-naive
    stamps[parsed.index] = parsed
    return stamps


def _unify(parts: list[_Part]) -> IngestResult:
    """Concatenate the sources, give rows without a user their document id, and hash ids."""
    is_document_mode = all(part.doc_ids is not None for part in parts)
    frames = []
    for part in parts:
        events = part.events
        if part.doc_ids is not None:
            users = pd.Series(part.doc_ids, index=events.index, dtype=object)
            users = users.where(users.notna(), events[SOURCE_ROW].astype(str))
            if len(parts) > 1:
                users = part.summary.source + ":" + users
            events = events.assign(**{USER: users})
        frames.append(events)
    events = pd.concat(frames, ignore_index=True)
    if events[EVENT_ID].isna().any() or events[EVENT_ID].duplicated().any():
        events[EVENT_ID] = content_event_ids(events)  # table sources, or repeats across sources
    quarantine = [row for part in parts for row in part.quarantine]
    return IngestResult(events=events, quarantine=quarantine,
                        sources=[part.summary for part in parts],
                        is_document_mode=is_document_mode,
                        n_input_rows=sum(part.summary.n_rows for part in parts))
