"""Item catalogues and item filters.

A catalogue file (``--items``: CSV, TSV, JSON, JSONL or Parquet) lists the recommendable items, one
row each: an id, a title and/or a description, optional categories and an optional date. Column
roles are detected from the headers (English and Chinese) like the events' roles; texts are
cleaned like event texts (HTML, whitespace, PII); bad rows (no id, a repeated id, no text, a date
that is not a date) are quarantined with a reason.
``merge_catalogue`` joins the file's items with the items the events name; ``ItemFilter`` keeps the
items of a category or a date range.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from interestlens.tools.clean import normalize_text, scrub_pii, strip_html
from interestlens.tools.connectors import FILE_KINDS, quarantine_rows, read_table
from interestlens.tools.errors import ConfigError, InputError
from interestlens.tools.ingest import _cell_kinds, _cell_strings, _normalise, _parse_timestamps
from interestlens.tools.interactions import build_item_catalogue
from interestlens.tools.name import excerpt
from interestlens.tools.records import EVENT_TYPE, ITEM_ID, TEXT, QuarantinedRow

logger = logging.getLogger(__name__)

CATALOGUE_ROLES: tuple[str, ...] = ("item_id", "title", "description", "category", "date")
FILE_ITEM_COLUMNS: tuple[str, ...] = ("item_id", "item_text", "category", "date")
CATEGORY_SEPARATOR = "|"  # joins an item's categories in the ``category`` column
NOTE_EVENT_TYPES = frozenset({"tagged", "tag"})  # user-written item notes (MovieLens tags)
N_KNOWN_SHOWN = 12  # categories named by the unknown-category error
DESCRIPTION_WIDTH = 1000  # characters of a description kept in the item text
# Header names per role, normalised (lower case, no spaces, underscores or hyphens); disjoint.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "item_id": ("itemid", "item", "id", "productid", "sku", "movieid", "asin", "questionid",
                "postid", "contentid", "articleid", "商品id", "物品id", "商品编号", "编号", "id号"),
    "title": ("title", "itemtitle", "name", "itemname", "productname", "producttitle", "headline",
              "标题", "名称", "商品名称", "商品标题", "商品名", "名字"),
    "description": ("description", "itemtext", "text", "desc", "summary", "body", "content",
                    "details", "abstract", "overview", "描述", "简介", "内容", "详情", "正文"),
    "category": ("category", "categories", "genre", "genres", "tags", "tag", "section", "topic",
                 "类别", "分类", "类目", "标签", "品类", "栏目"),
    "date": ("date", "releasedate", "released", "publishedat", "published", "publishdate",
             "createdat", "creationdate", "time", "timestamp", "日期", "发布时间", "上架时间",
             "发布日期", "时间"),
}
_SPLIT_CATEGORIES = re.compile(r"\s*[|;；、]\s*")
_DATE_ONLY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


@dataclass(frozen=True)
class CatalogueFile:
    """What ``load_catalogue`` made of one catalogue file.

    Attributes:
        items: One row per kept item, ``FILE_ITEM_COLUMNS``: text is title, categories and
            description joined by " | "; ``category`` joins the categories with
            ``CATEGORY_SEPARATOR`` ("" when none); ``date`` is tz-aware UTC or NaT.
        quarantine: Rows that were not kept, and why.
        n_rows: Data rows read; always ``len(items) + len(quarantine)``.
        roles: Role -> column used.
    """

    items: pd.DataFrame
    quarantine: list[QuarantinedRow]
    n_rows: int
    roles: dict[str, str]


def parse_catalogue_map(spec: str | None) -> dict[str, str]:
    """Parse an ``--items-map`` value such as ``"item_id=sku,title=name"`` into ``{role: column}``.

    Raises:
        ConfigError: A pair is malformed or names an unknown role.
    """
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in (spec or "").split(","))):
        role, sep, column = (part.strip() for part in pair.partition("="))
        if not (sep and role and column) or role not in CATALOGUE_ROLES:
            raise ConfigError(f"--items-map: bad pair {pair!r}; expected ROLE=COLUMN with ROLE "
                              f"one of {', '.join(CATALOGUE_ROLES)}")
        mapping[role] = column
    return mapping


def load_catalogue(path: Path | str, *,
                   column_map: Mapping[str, str] | None = None) -> CatalogueFile:
    """Read a catalogue file into item rows, quarantining the rows that cannot be items.

    Args:
        path: A .csv/.tsv/.txt, .json, .jsonl/.ndjson or .parquet file.
        column_map: ``{role: column}`` overriding detected roles (roles: ``CATALOGUE_ROLES``).

    Raises:
        InputError: The file cannot be read, has no id column, no title/description column or
            no usable row.
        ConfigError: ``column_map`` names an unknown role.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such catalogue file")
    if path.suffix.lower() not in FILE_KINDS:
        raise InputError(path, f"unsupported catalogue file type '{path.suffix}' (expected csv, "
                               "tsv, json, jsonl or parquet)")
    table = read_table(path)
    roles = _detect_roles(table.frame, dict(column_map or {}), path)
    frame = table.frame
    column = {role: _cell_strings(frame[col]) for role, col in roles.items()
              if role not in ("category", "date")}
    ids = column["item_id"]
    texts = [_clean(column[r], width) for r, width in (("title", None),
                                                       ("description", DESCRIPTION_WIDTH))
             if r in column]
    categories = (_categories(frame[roles["category"]]) if "category" in roles
                  else pd.Series("", index=frame.index))
    dates = (_parse_timestamps(_years_as_dates(frame[roles["date"]])) if "date" in roles
             else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]"))
    reasons = _row_problems(frame, roles, ids, texts, dates)
    kept = reasons.isna()
    parts = [text[kept].fillna("") for text in texts[:1]]
    parts.append(categories[kept].str.replace(CATEGORY_SEPARATOR, ", ", regex=False))
    parts += [text[kept].fillna("") for text in texts[1:]]
    items = pd.DataFrame({
        "item_id": ids[kept].astype(str).to_numpy(),
        "item_text": [" | ".join(p for p in row if p) for row in zip(*parts)],
        "category": categories[kept].to_numpy(dtype=object),
        "date": dates[kept].to_numpy(),
    })
    items["date"] = pd.to_datetime(items["date"], utc=True)
    quarantine = sorted(table.quarantine + quarantine_rows(path.name, frame, reasons),
                        key=lambda q: q.row)
    if items.empty:
        first = quarantine[0]
        raise InputError(path, f"no usable items: all {len(quarantine)} rows were quarantined "
                               f"(first: {first.reason})", row=first.row)
    logger.info("%s: catalogue, roles %s; kept %d of %d rows", path.name, roles, len(items),
                len(frame) + len(table.quarantine))
    return CatalogueFile(items, quarantine, len(frame) + len(table.quarantine), roles)


def _detect_roles(frame: pd.DataFrame, mapping: dict[str, str], path: Path) -> dict[str, str]:
    """Assign roles: mapped columns first, then by header name; id and some text are required."""
    unknown = [role for role in mapping if role not in CATALOGUE_ROLES]
    if unknown:
        raise ConfigError(f"catalogue roles: unknown role {unknown[0]!r}; roles are "
                          f"{', '.join(CATALOGUE_ROLES)}")
    columns = [str(c) for c in frame.columns]
    missing = [f"{role}={col}" for role, col in mapping.items() if col not in columns]
    if missing:
        raise InputError(path, f"mapped column not found: {', '.join(missing)} "
                               f"(columns: {', '.join(columns)})")
    roles = dict(mapping)
    free = [c for c in columns if c not in mapping.values()]
    for role, names in _HEADER_NAMES.items():
        ranked = [(names.index(_normalise(c)), i, c) for i, c in enumerate(free)
                  if role not in roles and _normalise(c) in names]
        if ranked:
            roles[role] = min(ranked)[2]
            free.remove(roles[role])
    if "item_id" not in roles:
        raise InputError(path, f"no item id column (item_id, id, sku, movieId, 商品ID…; columns: "
                               f"{', '.join(columns)})")
    if "title" not in roles and "description" not in roles:
        raise InputError(path, f"no item text column (title, name, description, text, 标题…; "
                               f"columns: {', '.join(columns)})")
    return roles


def _clean(texts: pd.Series, width: int | None) -> pd.Series:
    """Return the texts cleaned like event texts (HTML, whitespace, PII), cut to ``width``.

    Texts left empty become None.
    """
    def clean(text: object) -> str | None:
        if not isinstance(text, str):
            return None
        text = scrub_pii(normalize_text(strip_html(text)))
        return (excerpt(text, width) if width else text) or None

    return texts.map(clean).astype(object)


def _categories(cells: pd.Series) -> pd.Series:
    """Return each cell's categories, cleaned and joined by ``CATEGORY_SEPARATOR`` ("" if none).

    A cell is a list (JSON, Parquet), a string holding a JSON list (``["Drama","Comedy"]`` in a
    CSV) or a string split at "|", ";" or "、".
    """
    def join(value: object, kind: str) -> str:
        values = (list(value) if kind == "nested" else [] if kind == "empty"
                  else _json_list(str(value)))
        if values is None:
            values = _SPLIT_CATEGORIES.split(str(value))
        names = (" ".join(str(v).replace(CATEGORY_SEPARATOR, "/").split()) for v in values)
        return CATEGORY_SEPARATOR.join(dict.fromkeys(name for name in names if name))

    return pd.Series([join(v, k) for v, k in zip(cells, _cell_kinds(cells))], index=cells.index,
                     dtype=object)


def _json_list(text: str) -> list | None:
    """Return the list ``text`` holds in JSON, or None when it holds no JSON list."""
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _years_as_dates(cells: pd.Series) -> pd.Series:
    """Return the cells with bare years (1000 to 2999) written as the 1st of January."""
    text = cells.map(lambda v: str(int(v)) if isinstance(v, (int, float, np.number))
                     and not isinstance(v, bool) and float(v).is_integer() else v)
    is_year = text.astype("string").str.strip().str.fullmatch(r"[12]\d{3}").fillna(False)
    return text.where(~is_year.to_numpy(dtype=bool), text.astype(str).str.strip() + "-01-01")


def _row_problems(frame: pd.DataFrame, roles: dict[str, str], ids: pd.Series,
                  texts: list[pd.Series], dates: pd.Series) -> pd.Series:
    """Return each row's first quarantine reason (NaN when the row is a usable item)."""
    reasons = pd.Series(np.nan, index=frame.index, dtype=object)

    def flag(mask: pd.Series, reason: str | pd.Series) -> None:
        reasons[:] = reasons.where(reasons.notna() | ~mask, reason)

    for role in ("item_id", "title", "description", "date"):
        if role in roles:
            flag(_cell_kinds(frame[roles[role]]) == "nested", f"{role} is a list/object")
    flag(ids.isna(), "empty item id")
    repeated = ids.notna() & ids.duplicated()
    first: dict[str, int] = {}
    for row, item in ids[ids.notna()].items():
        first.setdefault(item, int(row))
    flag(repeated, "repeated item id " + ids.fillna("") + " (first at row "
         + ids.map(first).fillna(-1).astype(int).astype(str) + ")")
    has_text = pd.concat([t.notna() for t in texts], axis=1).any(axis=1)
    flag(~has_text, "empty item text (no title or description)")
    if "date" in roles:
        given = _cell_kinds(frame[roles["date"]]) != "empty"
        flag(given & dates.isna(), "date " + frame[roles["date"]].map(repr).str.slice(0, 40)
             + " is not a date")
    return reasons


def merge_catalogue(events: pd.DataFrame, file_items: pd.DataFrame | None) -> pd.DataFrame:
    """Return the recommendable items: the file's items, then the other items events name.

    A file item keeps the file's text, with the notes users wrote on it (events of a type in
    ``NOTE_EVENT_TYPES``, e.g. MovieLens tags) appended as " | tags: ..."; its date is the file's,
    else its first event's. Without a file the catalogue is ``build_item_catalogue(events)``.

    Returns:
        ``tools.interactions.CATALOGUE_COLUMNS``; ``n_events`` is 0 for items no event names.
    """
    from_events = build_item_catalogue(events)
    if file_items is None or file_items.empty:
        return from_events
    known = from_events[~from_events["is_event_item"]].set_index("item_id")
    ids = file_items["item_id"].astype(str)
    notes = _notes(events).reindex(ids).fillna("")
    text = file_items["item_text"].astype(str).to_numpy() + np.where(
        notes.to_numpy() != "", " | tags: " + notes.to_numpy(), "")
    dates = pd.to_datetime(file_items["date"], utc=True).fillna(
        pd.Series(known["date"].reindex(ids).to_numpy(), index=file_items.index))
    from_file = pd.DataFrame({
        "item_id": ids.to_numpy(), "item_text": text,
        "n_events": known["n_events"].reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        "is_event_item": False,
        "category": file_items["category"].fillna("").astype(str).to_numpy(),
        "date": dates.to_numpy()})
    extra = known[~known.index.isin(ids)].reset_index()
    if len(extra):
        logger.info("%d items named by events are not in the catalogue file; their text comes "
                    "from the events", len(extra))
    merged = pd.concat([from_file, extra[from_file.columns]], ignore_index=True)
    merged["date"] = pd.to_datetime(merged["date"], utc=True)
    return merged


def _notes(events: pd.DataFrame) -> pd.Series:
    """Return per item id the distinct note texts users wrote on it, joined by ", "."""
    if ITEM_ID not in events or EVENT_TYPE not in events:
        return pd.Series(dtype=object)
    is_note = events[EVENT_TYPE].astype("string").str.lower().isin(NOTE_EVENT_TYPES)
    notes = events[is_note.fillna(False).to_numpy(dtype=bool)]
    notes = notes[notes[ITEM_ID].notna() & notes[TEXT].notna()]
    return notes.groupby(notes[ITEM_ID].astype(str), sort=False)[TEXT].agg(
        lambda texts: ", ".join(dict.fromkeys(str(t).strip() for t in texts if str(t).strip())))


# ---- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFilter:
    """Which items may be recommended: one category and/or a date range (both inclusive).

    Args:
        category: Category name, matched case-blind against each item's categories.
        since: Earliest item date.
        until: Latest item date; a bare date (``2020-12-31``) means the end of that day.
    """

    category: str | None = None
    since: str | pd.Timestamp | None = None
    until: str | pd.Timestamp | None = None

    @property
    def is_active(self) -> bool:
        """True when the filter drops anything at all."""
        return any(v is not None for v in (self.category, self.since, self.until))

    def mask(self, catalogue: pd.DataFrame) -> np.ndarray:
        """Return which catalogue rows (``category``, ``date`` columns) pass the filter.

        Items without a date fail a date bound.

        Raises:
            ConfigError: The category is unknown (the error names known ones), no item has a
                category, or a bound is not a date.
        """
        keep = np.ones(len(catalogue), dtype=bool)
        if self.category is not None:
            keep &= _in_category(catalogue["category"], self.category)
        dates = pd.to_datetime(catalogue["date"], utc=True)
        if self.since is not None:
            keep &= (dates >= date_bound(self.since, "--since")).to_numpy(dtype=bool)
        if self.until is not None:
            bound = date_bound(self.until, "--until")
            is_day = isinstance(self.until, str) and _DATE_ONLY.fullmatch(self.until.strip())
            keep &= (dates < bound + pd.Timedelta(days=1) if is_day
                     else dates <= bound).to_numpy(dtype=bool)
        if self.since is not None and self.until is not None and \
                date_bound(self.since, "--since") > date_bound(self.until, "--until"):
            raise ConfigError(f"--since {self.since} is after --until {self.until}")
        return keep


def date_bound(value: str | pd.Timestamp, option: str) -> pd.Timestamp:
    """Parse a filter date (ISO date or time, Chinese date, epoch seconds) as UTC.

    Raises:
        ConfigError: The value is not a date.
    """
    if isinstance(value, pd.Timestamp):
        return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    parsed = _parse_timestamps(pd.Series([str(value).strip()], dtype=object)).iloc[0]
    if pd.isna(parsed):
        raise ConfigError(f"{option} {value!r}: not a date (use YYYY-MM-DD)")
    return parsed


def _in_category(categories: pd.Series, category: str) -> np.ndarray:
    """Return which items carry ``category`` (case-blind); unknown ones are a ``ConfigError``."""
    wanted = " ".join(str(category).split()).casefold()
    lists = categories.fillna("").astype(str).str.casefold().str.split(CATEGORY_SEPARATOR,
                                                                        regex=False)
    keep = lists.map(lambda names: wanted in names).to_numpy(dtype=bool)
    if keep.any():
        return keep
    counts = (categories.fillna("").astype(str).str.split(CATEGORY_SEPARATOR, regex=False)
              .explode().loc[lambda s: s != ""].value_counts())
    if counts.empty:
        raise ConfigError(f"--category {category!r}: the items have no categories (give "
                          "`interestlens run ... --items FILE` with a category column)")
    shown = ", ".join(counts.index[:N_KNOWN_SHOWN])
    more = f" and {len(counts) - N_KNOWN_SHOWN} more" if len(counts) > N_KNOWN_SHOWN else ""
    raise ConfigError(f"--category {category!r}: unknown category (known: {shown}{more})")
