"""What a run returns to callers of the facade: segments, users, recommendations and a summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from interestlens.tools.errors import InputError
from interestlens.tools.records import QuarantinedRow, Recommendation, Segment


class RunSummary(BaseModel):
    """Counts and timings of one run; printed by the CLI and written into the report."""

    model_config = ConfigDict(frozen=True)
    inputs: tuple[str, ...]
    n_input_rows: int
    n_kept: int
    n_quarantined: int
    n_rejected_at_read: int  # rows ingest could not read or use (bad JSON, no user, post type…)
    n_exact_duplicates: int
    n_near_duplicates: int
    n_noise: int
    is_document_mode: bool
    n_users: int
    n_segments: int
    n_clusters: int
    n_outliers: int
    n_embedded: int
    n_embedding_cache_hits: int
    n_items: int
    n_catalogue_rows: int = 0  # rows of the --items catalogue file (0 without one)
    n_catalogue_quarantined: int = 0  # of those, rows kept aside in quarantine.csv
    language_share: dict[str, float]
    lexical_weight: float
    embedding_model: str
    naming_mode: str
    topics: tuple[tuple[str, ...], ...] = ()
    stage_seconds: dict[str, float]
    total_seconds: float
    out_dir: str | None = None
    store_dir: str
    n_transitions: dict[str, int] = {}  # segment transitions since the store's last snapshot


class UserProfile(BaseModel):
    """One user's segment, confidence and interests."""

    model_config = ConfigDict(frozen=True)
    user: str
    segment_id: str
    segment_name: str
    confidence: float
    is_outlier: bool
    n_events: int
    top_interests: tuple[str, ...]

    @classmethod
    def from_row(cls, row: pd.Series, segment_name: str) -> UserProfile:
        """Build the profile from one row of the users table."""
        return cls(
            user=str(row["user"]), segment_id=str(row["segment"]), segment_name=segment_name,
            confidence=float(row["confidence"]), is_outlier=bool(row["is_outlier"]),
            n_events=int(row["n_events"]),
            top_interests=tuple(t for t in str(row["top_interests"] or "").split(";") if t),
        )


@dataclass(frozen=True)
class RunResult:
    """The result of ``Assistant.run``: segments, per-user table, recommendations, summary."""

    segments: list[Segment]
    users: pd.DataFrame
    recommendations: pd.DataFrame
    summary: RunSummary
    output_files: dict[str, Path] = field(default_factory=dict)
    recommender: Callable[[str, int], list[Recommendation]] | None = None
    quarantine: tuple[QuarantinedRow, ...] = ()  # the input rows this run set aside

    def segment(self, segment_id: str) -> Segment:
        """Return one segment by id."""
        for segment in self.segments:
            if segment.segment_id == segment_id:
                return segment
        raise KeyError(f"unknown segment {segment_id!r}")

    def user(self, user_id: str) -> UserProfile:
        """Return the profile of one user; ``KeyError`` when the user is unknown."""
        rows = self.users[self.users["user"] == str(user_id)]
        if rows.empty:
            raise KeyError(f"unknown user {user_id!r}")
        row = rows.iloc[0]
        return UserProfile.from_row(row, self.segment(str(row["segment"])).name)

    def recommend(self, user_id: str, k: int = 5) -> list[Recommendation]:
        """Return up to ``k`` recommendations for one user, best first."""
        self.user(user_id)
        if self.recommender is None:
            raise InputError(self.summary.store_dir, "this result holds no recommender")
        return self.recommender(str(user_id), k)
