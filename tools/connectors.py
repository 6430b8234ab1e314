"""Source readers: delimited, JSON, JSON Lines and Parquet files; Stack Exchange; MovieLens.

File readers return a :class:`RawTable` (the rows as they are, before roles are assigned); the two
folder connectors return finished event tables. ``tools.ingest`` assigns roles, validates cells and
unifies the sources. Text is not screened here (empty, too long): ``load_events`` screens it.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from charset_normalizer import from_bytes

from interestlens.tools.errors import InputError
from interestlens.tools.records import (
    EVENT_COLUMNS,
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    ITEM_TEXT,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    TIMESTAMP,
    USER,
    ColumnRoles,
    QuarantinedRow,
)

logger = logging.getLogger(__name__)

Values = pd.Series | np.ndarray | Sequence[object] | str | None
"""A column given to :func:`make_events`: one value per row (by position) or one for all."""

FILE_KINDS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl",
              ".ndjson": "jsonl", ".parquet": "parquet"}
_DELIMITERS = ",\t;|"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_RAW_CHARS = 200
STACKEXCHANGE_ROLES = ColumnRoles(
    user="OwnerUserId/UserId", text="Title+Body/Text", timestamp="CreationDate",
    event_type="PostTypeId", item_id="Id/ParentId/PostId", item_text="Title+Tags",
)
MOVIELENS_ROLES = ColumnRoles(
    user="userId", text="title+genres/tag", timestamp="timestamp", event_type="rating",
    item_id="movieId", item_text="title+genres+tags",
)


@dataclass(frozen=True)
class RawTable:
    """The rows of one tabular file before column roles are assigned.

    Attributes:
        frame: One column per input column, values as read; the index is the 0-based data-row
            number in the file (header excluded).
        quarantine: Rows the reader could not parse at all (malformed JSON, unclosed quote).
        kind: ``"csv"``, ``"tsv"``, ``"json"``, ``"jsonl"`` or ``"parquet"``.
        encoding: The text encoding used to decode the file; ``None`` for Parquet.
    """

    frame: pd.DataFrame
    quarantine: list[QuarantinedRow]
    kind: str
    encoding: str | None


def short_repr(value: object) -> str:
    """Return ``repr(value)`` cut to at most 200 characters, for ``QuarantinedRow.raw``."""
    text = repr(value)
    return text if len(text) <= _RAW_CHARS else text[: _RAW_CHARS - 3] + "..."


def content_event_ids(events: pd.DataFrame) -> pd.Series:
    """Hash each event's content into a stable 16-hex-digit id, independent of file paths.

    The hash covers user, ISO timestamp, event type, text and item id joined by a unit separator;
    the n-th repeat (n >= 1) of identical content also hashes ``#n`` so that ids stay unique.
    """
    naive = events[TIMESTAMP].dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = np.datetime_as_string(naive.to_numpy(dtype="datetime64[us]"), unit="us")
    keys = events[USER].fillna("").astype(str)
    for part in (pd.Series(stamps, index=events.index).replace("NaT", ""), events[EVENT_TYPE],
                 events[TEXT], events[ITEM_ID]):
        keys = keys + "\x1f" + part.fillna("").astype(str)
    if keys.duplicated().any():
        repeat = keys.groupby(keys).cumcount()
        keys = keys.where(repeat == 0, keys + "\x1f#" + repeat.astype(str))
    return pd.Series([hashlib.sha1(key.encode()).hexdigest()[:16] for key in keys.tolist()],
                     index=events.index, dtype=object)


# ---- text files --------------------------------------------------------------------------------


def decode_bytes(path: Path, data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes: BOM, strict UTF-8, strict GB18030, then charset detection.

    Returns:
        The text (without BOM) and the name of the encoding used.

    Raises:
        InputError: The file is empty, binary, or undecodable in every candidate encoding.
    """
    if not data.strip():
        raise InputError(path, "empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff"), encoding
            except UnicodeDecodeError as err:
                raise _undecodable(path, data, err, encoding) from None
    if b"\x00" in data[:8192]:
        raise InputError(path, "binary file, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    if _is_mostly_utf8(data):
        raise _undecodable(path, data, utf8_error, "utf-8")
    best = from_bytes(data).best()
    if best is None:
        raise _undecodable(path, data, utf8_error, "utf-8, gb18030 or any detected encoding")
    logger.info("%s: not UTF-8 or GB18030; charset detection chose %s", path.name, best.encoding)
    return str(best), best.encoding


def _is_mostly_utf8(data: bytes) -> bool:
    """Tell UTF-8 text with a few corrupt bytes from text in another encoding."""
    text = data.decode("utf-8", errors="replace")
    n_bad = text.count("\ufffd")
    return sum(ord(ch) > 127 for ch in text) - n_bad >= 10 * n_bad


def _undecodable(path: Path, data: bytes, err: UnicodeDecodeError, tried: str) -> InputError:
    line = data.count(b"\n", 0, err.start) + 1
    byte = data[err.start]
    return InputError(path, f"undecodable byte 0x{byte:02x} at offset {err.start} (line {line}); "
                            f"not valid {tried}")


def read_table(path: Path) -> RawTable:
    """Read a .csv/.tsv/.txt, .json, .jsonl/.ndjson or .parquet file into a :class:`RawTable`.

    Raises:
        InputError: The file cannot be used as a whole (empty, binary, undecodable, invalid).
    """
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    if suffix == ".parquet":
        frame, quarantine, encoding = _read_parquet(path), [], None
    else:
        text, encoding = decode_bytes(path, path.read_bytes())
        if suffix == ".json":
            frame, quarantine = _read_json(path, text)
        elif suffix in (".jsonl", ".ndjson"):
            frame, quarantine = _read_jsonl(text, path.name)
        else:
            delimiter = _sniff_delimiter(text, FILE_KINDS[suffix])
            frame, quarantine = _read_delimited(path, text, delimiter)
    if frame.shape[1] == 0 or (frame.empty and not quarantine):
        first = quarantine[0] if quarantine else None
        raise InputError(path, f"no data rows{f' ({first.reason})' if first else ''}",
                         row=first.row if first else None)
    return RawTable(frame, quarantine, FILE_KINDS[suffix], encoding)


def _sniff_delimiter(text: str, kind: str) -> str:
    first_line = re.search(r"[^\r\n]*\S[^\r\n]*", text)
    header = first_line.group() if first_line else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ("\t" if kind == "tsv" else ",")


def _read_delimited(path: Path, text: str, delimiter: str) -> tuple[pd.DataFrame, list]:
    """Parse delimited text into a frame of strings, quarantining rows that cannot be parsed."""
    if csv.field_size_limit() < sys.maxsize // 4:  # idempotent stdlib setting: allow huge fields
        csv.field_size_limit(sys.maxsize // 4)
    header: list[str] | None = None
    rows, index, quarantine = [], [], []
    for record, raw in _records(text, delimiter):
        if header is None:
            if record is None:
                raise InputError(path, "unclosed quote in the header line")
            header = _clean_header(record, path.name)
            continue
        row = len(index) + len(quarantine)
        if record is None:
            quarantine.append(QuarantinedRow(source=path.name, row=row, reason="unclosed quote",
                                             raw=short_repr(raw)))
        elif len(record) > len(header):
            reason = f"{len(record)} fields, expected {len(header)} (unquoted delimiter?)"
            quarantine.append(QuarantinedRow(source=path.name, row=row, reason=reason,
                                             raw=short_repr(raw)))
        else:
            rows.append(record if len(record) == len(header)
                        else record + [""] * (len(header) - len(record)))
            index.append(row)
    return pd.DataFrame(rows, columns=header, index=index, dtype=object), quarantine


def _records(text: str, delimiter: str) -> Iterator[tuple[list[str] | None, str]]:
    """Yield ``(fields, raw)`` per non-blank record; ``fields`` is None for an unclosed quote.

    A record that spans several lines, or ends the file, is re-parsed strictly. If that fails, the
    quote opened on its first line never closed: that line alone is reported and parsing resumes
    on the next line, so the rows the quote swallowed are recovered.
    """
    lines = io.StringIO(text, newline="").readlines()
    start = 0
    while start < len(lines):
        reader = csv.reader(islice(lines, start, None), delimiter=delimiter)
        begin, resume = start, None
        for record in reader:
            end = start + reader.line_num
            if (end - begin > 1 or end == len(lines)) and not _parses_strictly(
                    lines[begin:end], delimiter):
                yield None, lines[begin]
                resume = begin + 1
                break
            if record:
                yield record, lines[begin] if end - begin == 1 else "".join(lines[begin:end])
            begin = end
        if resume is None:
            return
        start = resume


def _parses_strictly(lines: list[str], delimiter: str) -> bool:
    try:
        list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return True


def _clean_header(names: list[str], source: str) -> list[str]:
    """Strip the column names, name blank ones and number repeats (``text``, ``text.1``).

    A repeated name is a warning naming the copies, which ``--map`` can then pick.
    """
    seen: dict[str, int] = {}
    header, repeats = [], []
    for i, name in enumerate(names):
        name = name.replace("\ufeff", "").strip() or f"column_{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        header.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
        if seen[name] > 1:
            repeats.append(f"{name!r} (copy read as {header[-1]!r})")
    if repeats:
        logger.warning("%s: repeated column name %s; the first is used, --map ROLE=COLUMN "
                       "picks another", source, ", ".join(repeats))
    return header


def _read_json(path: Path, text: str) -> tuple[pd.DataFrame, list]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: "
                               f"{err.msg}") from None
    if isinstance(data, dict):
        arrays = [key for key, value in data.items() if isinstance(value, list)
                  and any(isinstance(item, dict) for item in value)]
        if len(arrays) != 1:
            raise InputError(path, "expected an array of objects, or an object holding exactly "
                                   f"one such array (keys: {', '.join(map(str, data)) or 'none'})")
        data = data[arrays[0]]
    if not isinstance(data, list):
        raise InputError(path, f"expected an array of objects, got a JSON {type(data).__name__}")
    return _objects_frame(path.name, list(enumerate(data)), [])


def _read_jsonl(text: str, source: str) -> tuple[pd.DataFrame, list]:
    items, quarantine = [], []
    # "row N" is line N + 1 of the file: blank lines count. Not splitlines: U+2028 is data.
    for row, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            items.append((row, json.loads(line)))
        except json.JSONDecodeError as err:
            quarantine.append(QuarantinedRow(source=source, row=row, reason=f"malformed JSON: "
                                             f"{err.msg}", raw=short_repr(line)))
    return _objects_frame(source, items, quarantine)


def _objects_frame(source: str, items: list, quarantine: list) -> tuple[pd.DataFrame, list]:
    """Turn ``(row, value)`` pairs into a frame of the objects; other values are quarantined."""
    records, index = [], []
    for row, value in items:
        if isinstance(value, dict):
            records.append(value)
            index.append(row)
        else:
            reason = f"not a JSON object (got {type(value).__name__})"
            quarantine.append(QuarantinedRow(source=source, row=row, reason=reason,
                                             raw=short_repr(value)))
    frame = pd.DataFrame(records, index=index, dtype=object)
    frame.columns = _clean_header([str(c) for c in frame.columns], source)
    return frame, sorted(quarantine, key=lambda q: q.row)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise InputError(path, f"not a readable Parquet file: {reason}") from None
    frame = frame.reset_index(drop=True)
    return frame.set_axis(_clean_header([str(c) for c in frame.columns], path.name), axis=1)


# ---- event tables ------------------------------------------------------------------------------


def make_events(source: str, source_row: Sequence[int] | pd.Index, *, user: Values,
                timestamp: Values, event_type: Values, text: Values, item_id: Values = None,
                item_text: Values = None) -> pd.DataFrame:
    """Assemble an event table with ``EVENT_COLUMNS``; ``EVENT_ID`` is left empty.

    Fill ``EVENT_ID`` with :func:`content_event_ids` once the whole table is assembled, so that
    repeats of identical content are numbered across all of its parts.

    Args:
        source: Source name of every row.
        source_row: 0-based data-row number of each event.
        user: User id of each event (str or None).
        timestamp: Timestamps (tz-aware UTC, or anything ``pd.to_datetime`` parses as UTC).
        event_type: Event type, one for all rows or one per row.
        text: Event text of each event.
        item_id: Item id of each event, or None for none.
        item_text: Item text of each event, or None for none.
    """
    rows = np.asarray(source_row, dtype=np.int64)
    events = pd.DataFrame({SOURCE: source, SOURCE_ROW: rows}, index=pd.RangeIndex(len(rows)))
    for column, values in ((USER, user), (EVENT_TYPE, event_type), (TEXT, text),
                           (ITEM_ID, item_id), (ITEM_TEXT, item_text)):
        series = _aligned(values, events.index).astype(object)
        events[column] = series.where(series.notna(), None)
    stamps = _aligned(timestamp, events.index)
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
    events[TIMESTAMP] = stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    events[EVENT_ID] = None
    return events[list(EVENT_COLUMNS)]


def _aligned(values: Values, index: pd.Index) -> pd.Series:
    """Return ``values`` (a Series, array or scalar) as a Series on ``index``, by position."""
    if isinstance(values, pd.Series):
        return values.set_axis(index)
    return pd.Series(values, index=index)


def quarantine_rows(source: str, rows: pd.DataFrame, reasons: pd.Series) -> list[QuarantinedRow]:
    """Return a :class:`QuarantinedRow` for each row of ``rows`` whose reason is not missing.

    ``rows`` is indexed by data-row number; ``raw`` shows the row's non-missing cells.
    """
    return [QuarantinedRow(source=source, row=int(row), reason=reason,
                           raw=short_repr(rows.loc[row].dropna().to_dict()))
            for row, reason in reasons.dropna().items()]


# ---- Stack Exchange ----------------------------------------------------------------------------

_POST_FIELDS = ("Id", "PostTypeId", "ParentId", "CreationDate", "OwnerUserId", "Title", "Tags",
                "Body")
_COMMENT_FIELDS = ("Id", "PostId", "CreationDate", "UserId", "Text")


def load_stackexchange(folder: Path) -> tuple[pd.DataFrame, list[QuarantinedRow], int]:
    """Load a Stack Exchange dump folder: questions, answers and (if present) comments.

    Args:
        folder: Folder holding ``Posts.xml`` and optionally ``Comments.xml``.

    Returns:
        The events (``EVENT_COLUMNS``), the quarantined rows, and the number of input rows.

    Raises:
        InputError: A file is not well-formed XML.
    """
    folder = Path(folder)
    posts = _xml_rows(folder / "Posts.xml", _POST_FIELDS)
    questions = posts[posts["PostTypeId"] == "1"]
    titles = dict(zip(questions["Id"], _question_item_texts(questions), strict=True))
    parents = dict(zip(posts["Id"], posts["ParentId"].fillna(posts["Id"]), strict=True))
    parts = [_post_events(f"{folder.name}/Posts.xml", posts, titles)]
    comments_path = folder / "Comments.xml"
    if comments_path.is_file():
        comments = _xml_rows(comments_path, _COMMENT_FIELDS)
        parts.append(_comment_events(f"{folder.name}/Comments.xml", comments, titles, parents))
    events = pd.concat([part[0] for part in parts], ignore_index=True)
    events[EVENT_ID] = content_event_ids(events)
    quarantine = [row for part in parts for row in part[1]]
    n_rows = sum(part[2] for part in parts)
    logger.info("%s: Stack Exchange dump, %d events from %d rows", folder.name, len(events), n_rows)
    return events, quarantine, n_rows


def _xml_rows(path: Path, fields: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    try:
        for _, element in ET.iterparse(path):
            if element.tag == "row":
                rows.append(tuple(element.get(field) for field in fields))
                element.clear()
    except ET.ParseError as err:
        line, column = err.position
        raise InputError(path, f"invalid XML at line {line}, column {column}") from None
    return pd.DataFrame(rows, columns=list(fields), dtype=object)


def _tag_names(tags: str | None) -> list[str]:
    if not tags:
        return []
    return re.findall(r"<([^<>]+)>", tags) if "<" in tags else [t for t in tags.split("|") if t]


def _question_item_texts(questions: pd.DataFrame) -> list[str]:
    return [f"{title or ''} | tags: {', '.join(_tag_names(tags))}" if _tag_names(tags)
            else (title or "") for title, tags in zip(questions["Title"], questions["Tags"],
                                                       strict=True)]


def _post_events(source: str, posts: pd.DataFrame, titles: dict) -> tuple:
    kind = posts["PostTypeId"]
    is_question = kind == "1"
    reasons = pd.Series(None, index=posts.index, dtype=object)
    reasons[posts["OwnerUserId"].isna()] = "no user (deleted account)"
    other = ~kind.isin(["1", "2"])
    reasons[other] = "post type " + kind[other].fillna("?") + " is not user behaviour"
    kept = posts[reasons.isna()]
    question = is_question[kept.index]
    item_id = kept["ParentId"].where(~question, kept["Id"])
    events = make_events(
        source, kept.index, user=kept["OwnerUserId"], timestamp=kept["CreationDate"],
        event_type=np.where(question, "question", "answer"),
        text=(kept["Title"].fillna("") + "\n" + kept["Body"].fillna("")).where(
            question, kept["Body"].fillna("")),
        item_id=item_id, item_text=item_id.map(titles))
    return events, quarantine_rows(source, posts, reasons), len(posts)


def _comment_events(source: str, comments: pd.DataFrame, titles: dict, parents: dict) -> tuple:
    reasons = pd.Series(None, index=comments.index, dtype=object)
    reasons[comments["UserId"].isna()] = "no user (deleted account)"
    kept = comments[reasons.isna()]
    item_id = kept["PostId"].map(parents).fillna(kept["PostId"])
    events = make_events(
        source, kept.index, user=kept["UserId"], timestamp=kept["CreationDate"],
        event_type="comment", text=kept["Text"].fillna(""), item_id=item_id,
        item_text=item_id.map(titles))
    return events, quarantine_rows(source, comments, reasons), len(comments)


# ---- MovieLens ---------------------------------------------------------------------------------


def load_movielens(folder: Path) -> tuple[pd.DataFrame, list[QuarantinedRow], int]:
    """Load a MovieLens folder: ratings (liked/rated/disliked) and tag applications as events.

    ``movies.csv`` is the catalogue that gives each event its text and item text; it is not
    counted as input rows. A rating >= 4 is "liked", <= 2 "disliked", anything between "rated".

    Args:
        folder: Folder holding ``ratings.csv``, ``movies.csv`` and optionally ``tags.csv``.

    Returns:
        The events (``EVENT_COLUMNS``), the quarantined rows, and the number of input rows.

    Raises:
        InputError: A file is unreadable or lacks a required column.
    """
    folder = Path(folder)
    ratings = _read_movielens_csv(folder / "ratings.csv", ("userId", "movieId", "rating",
                                                            "timestamp"))
    tags_path = folder / "tags.csv"
    tags = (_read_movielens_csv(tags_path, ("userId", "movieId", "tag", "timestamp"))
            if tags_path.is_file() else pd.DataFrame(columns=["userId", "movieId", "tag",
                                                              "timestamp"], dtype=object))
    movies = _movie_catalogue(_read_movielens_csv(folder / "movies.csv", ("movieId", "title",
                                                                          "genres")), tags)
    parts = [_rating_events(f"{folder.name}/ratings.csv", ratings, movies),
             _tag_events(f"{folder.name}/tags.csv", tags, movies)]
    events = pd.concat([part[0] for part in parts], ignore_index=True)
    events[EVENT_ID] = content_event_ids(events)
    quarantine = parts[0][1] + parts[1][1]
    logger.info("%s: MovieLens, %d events from %d rows", folder.name, len(events),
                len(ratings) + len(tags))
    return events, quarantine, len(ratings) + len(tags)


def _read_movielens_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError) as err:
        raise InputError(path, f"unreadable CSV: {(str(err).splitlines() or [''])[0]}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} "
                               f"(columns: {', '.join(frame.columns)})")
    return frame[list(columns)].astype(object)


def _movie_catalogue(movies: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """Index movies by id with ``text`` (title and genres) and ``item_text`` (plus tags)."""
    genres = movies["genres"].where(movies["genres"] != "(no genres listed)", "")
    genres = genres.str.replace("|", ", ", regex=False)
    has_genres = genres != ""
    tag_lists = tags.groupby("movieId", sort=False)["tag"].agg(
        lambda values: ", ".join(dict.fromkeys(v.strip() for v in values if v.strip())))
    movie_tags = movies["movieId"].map(tag_lists).fillna("")
    text = movies["title"] + (" (" + genres + ")").where(has_genres, "")
    item_text = (movies["title"] + (" | " + genres).where(has_genres, "")
                 + (" | tags: " + movie_tags).where(movie_tags != "", ""))
    return pd.DataFrame({"text": text.to_numpy(), "item_text": item_text.to_numpy()},
                        index=movies["movieId"].to_numpy())


def _rating_events(source: str, ratings: pd.DataFrame, movies: pd.DataFrame) -> tuple:
    rating = pd.to_numeric(ratings["rating"], errors="coerce")
    known = ratings["movieId"].isin(movies.index)
    reasons = pd.Series(None, index=ratings.index, dtype=object)
    reasons[~known] = "movie " + ratings["movieId"][~known] + " is not in movies.csv"
    reasons[rating.isna()] = "rating is not a number"
    kept = ratings[reasons.isna()]
    rating = rating[kept.index]
    movie = movies.loc[kept["movieId"]]
    events = make_events(
        source, kept.index, user=kept["userId"], timestamp=_epoch(kept["timestamp"]),
        event_type=np.select([rating >= 4, rating <= 2], ["liked", "disliked"], "rated"),
        text=movie["text"], item_id=kept["movieId"], item_text=movie["item_text"])
    return events, quarantine_rows(source, ratings, reasons)


def _tag_events(source: str, tags: pd.DataFrame, movies: pd.DataFrame) -> tuple:
    events = make_events(
        source, tags.index, user=tags["userId"], timestamp=_epoch(tags["timestamp"]),
        event_type="tagged", text=tags["tag"], item_id=tags["movieId"],
        item_text=tags["movieId"].map(movies["item_text"]))
    return events, []


def _epoch(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(seconds, errors="coerce"), unit="s", utc=True)
