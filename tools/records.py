"""Records that cross room boundaries, and the column names of the bulk tables.

Bulk rows travel as pandas DataFrames whose columns are the constants below; vectors travel as
numpy arrays; everything else is a frozen pydantic model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# ---- event table -------------------------------------------------------------------------------
# Produced by ``tools.ingest``. One row per input event.
EVENT_ID = "event_id"  # stable content hash (source-independent), str
SOURCE = "source"  # file or folder name the row came from, str
SOURCE_ROW = "source_row"  # 0-based data-row number inside the source (header excluded), int
USER = "user"  # user id as str; in document mode the row id
TIMESTAMP = "timestamp"  # tz-aware UTC pandas Timestamp, NaT when unknown
EVENT_TYPE = "event_type"  # e.g. "review", "question", "answer", "comment", "rating"; str
TEXT = "text"  # free text, str
ITEM_ID = "item_id"  # str or None
ITEM_TEXT = "item_text"  # str or None
EVENT_COLUMNS: tuple[str, ...] = (
    EVENT_ID, SOURCE, SOURCE_ROW, USER, TIMESTAMP, EVENT_TYPE, TEXT, ITEM_ID, ITEM_TEXT,
)
# Added by ``tools.clean``.
LANGUAGE = "language"  # "zh", "en" or "other"
# Added by ``tools.features``.
SENTIMENT = "sentiment"  # float in [-1, 1], negative to positive

# ---- quarantine --------------------------------------------------------------------------------
QUARANTINE_COLUMNS: tuple[str, ...] = ("source", "row", "reason", "raw")

Mode = Literal["llm", "extractive", "template"]

Progress = Callable[[str, int, int], None]
"""Progress callback: ``progress(stage_label, n_done, n_total)``."""


class QuarantinedRow(BaseModel):
    """An input row that was not kept, and why."""

    model_config = ConfigDict(frozen=True)
    source: str
    row: int | None
    reason: str
    raw: str = ""


class ColumnRoles(BaseModel):
    """Which input column plays which role, as detected or mapped by the user."""

    model_config = ConfigDict(frozen=True)
    user: str | None = None
    text: str | None = None
    timestamp: str | None = None
    event_type: str | None = None
    item_id: str | None = None
    item_text: str | None = None
    row_id: str | None = None


class SourceSummary(BaseModel):
    """What ingest made of one source file or folder."""

    model_config = ConfigDict(frozen=True)
    source: str
    kind: str  # "csv", "tsv", "json", "jsonl", "parquet", "stackexchange", "movielens"
    encoding: str | None = None
    roles: ColumnRoles
    n_rows: int
    n_kept: int


class SegmentEvidence(BaseModel):
    """What the pipeline measured about one segment: the input of every ``SegmentNamer``."""

    model_config = ConfigDict(frozen=True)
    segment_id: str
    cluster_id: int  # parent density cluster; -1 when the segment gathers outliers only
    n_users: int
    share: float  # of all users, 0..1
    n_events: int
    keywords: tuple[str, ...]  # distinct, most characteristic first
    sentiment: float  # mean event sentiment in [-1, 1]
    top_event_types: tuple[str, ...] = ()
    representative_texts: tuple[str, ...] = ()  # closest to the segment centroid, PII-scrubbed
    mean_confidence: float = 1.0
    language: str = "en"  # dominant language of the segment's events: "zh", "en" or "other"


class LabelScore(BaseModel):
    """One zero-shot interest label and its score in [0, 1] (scores of all labels sum to 1)."""

    model_config = ConfigDict(frozen=True)
    label: str
    score: float


class Segment(BaseModel):
    """One actionable segment of users, with the evidence that describes it."""

    model_config = ConfigDict(frozen=True)
    segment_id: str
    cluster_id: int  # parent density cluster; -1 when the segment gathers outliers only
    name: str
    description: str
    naming_mode: Mode
    naming_note: str = ""
    n_users: int
    share: float  # of all users, 0..1
    n_events: int
    keywords: tuple[str, ...]
    sentiment: float  # mean event sentiment in [-1, 1]
    top_event_types: tuple[str, ...] = ()
    representative_texts: tuple[str, ...] = ()
    mean_confidence: float = 1.0
    persona: str = ""  # written by the LLM namer; empty in offline mode
    interests: tuple[str, ...] = ()  # key interests named by the LLM namer
    interest_labels: tuple[LabelScore, ...] = ()  # zero-shot labels given by the user, best first


class Recommendation(BaseModel):
    """One recommended item for one user, with the evidence behind it."""

    model_config = ConfigDict(frozen=True)
    user: str
    rank: int
    item_id: str
    item_text: str
    score: float
    reason: str
    reason_mode: Mode = "template"
    evidence: tuple[str, ...] = Field(default=())
    # what the pick was made for: personal terms, a cold-start user (segment-level picks), a
    # whole segment, or similarity to the owner's vector (events without items)
    level: Literal["user", "cold_start", "segment", "content"] = "user"
