"""Questions answered from a built store: segments, users, similar users, recommendations, SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from interestlens.agent.encoder import ARTIFACT as ENCODER_ARTIFACT
from interestlens.agent.llm import LLMClient
from interestlens.agent.rationale import explain_recommendations
from interestlens.agent.recommender import StoreRecommender
from interestlens.agent.results import UserProfile
from interestlens.tools.atomic import atomic_write_csv, atomic_write_text
from interestlens.tools.errors import InputError, StoreError
from interestlens.tools.evidence import SegmentComparison, compare_segments
from interestlens.tools.records import Recommendation, Segment
from interestlens.tools.report import pipeline_mermaid, stage_counts
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact


class StoreExplorer:
    """Read-side view of one store, loaded once; the facade delegates its questions here."""

    def __init__(self, store: Store, llm: LLMClient | None = None):
        self.store = store
        self.llm = llm
        tables = {name: self._table(name) for name in ("segments", "users")}
        self._segments = [Segment.model_validate_json(r) for r in tables["segments"]["record"]]
        self._users = tables["users"].set_index("user", drop=False)
        self._encoder = None
        self._recommender: StoreRecommender | None = None

    def _table(self, name: str) -> pd.DataFrame:
        try:
            return self.store.read_table(name)
        except StoreError as err:
            raise StoreError(f"{err}; run `interestlens run` into this store first") from err

    def segments(self) -> list[Segment]:
        """Return all segments, largest first."""
        return sorted(self._segments, key=lambda s: -s.n_users)

    def segment(self, segment_id: str) -> Segment:
        """Return one segment; ``InputError`` naming the known ids when it does not exist."""
        for segment in self._segments:
            if segment.segment_id.lower() == str(segment_id).strip().lower():
                return segment
        known = ", ".join(s.segment_id for s in self._segments)
        raise InputError(self.store.path, f"unknown segment '{segment_id}' (known: {known})")

    def user(self, user_id: str) -> UserProfile:
        """Return one user's profile."""
        if str(user_id) not in self._users.index:
            raise InputError(self.store.path, f"unknown user '{user_id}'")
        row = self._users.loc[str(user_id)]
        return UserProfile.from_row(row, self.segment(row["segment"]).name)

    def users_of(self, segment_id: str) -> pd.DataFrame:
        """Return the user table rows of one segment."""
        segment = self.segment(segment_id)
        return self._users[self._users["segment"] == segment.segment_id].reset_index(drop=True)

    def recommend(self, user_id: str, k: int) -> list[Recommendation]:
        """Recommend ``k`` unseen items to one user."""
        profile = self.user(user_id)
        vector = self.store.get_vectors("users", [profile.user])[0]
        return self._explain(self._recommender_().for_owner(profile.user, vector, k))

    def recommend_for_segment(self, segment_id: str, k: int) -> list[Recommendation]:
        """Recommend ``k`` items to a whole segment, from its centroid."""
        segment = self.segment(segment_id)
        vector = self.store.get_vectors("segments", [segment.segment_id])[0]
        return self._explain(self._recommender_().for_segment(segment.segment_id, vector, k))

    def find_users(self, text: str, k: int) -> pd.DataFrame:
        """Return the ``k`` users whose interest profile is closest to ``text``."""
        ids, scores = self.store.nearest("users", self._encode(text), k)
        users = list(ids[0])
        return pd.DataFrame({"user": users, "segment": self._users.loc[users, "segment"].to_numpy(),
                             "score": np.round(scores[0][:len(users)], 4)})

    def find_segments(self, text: str, k: int) -> list[tuple[Segment, float]]:
        """Return the ``k`` segments whose centroid is closest to ``text``, with similarity."""
        ids, scores = self.store.nearest("segments", self._encode(text), k)
        return [(self.segment(i), float(s)) for i, s in zip(ids[0], scores[0])]

    def compare(self, a: str, b: str) -> SegmentComparison:
        """Compare two segments: sizes, sentiment, shared and distinct keywords."""
        return compare_segments(self.segment(a), self.segment(b))

    def query_events(self, sql: str, params: Sequence | None, limit: int) -> pd.DataFrame:
        """Run a read-only, row-limited SQL query over the store's tables."""
        return self.store.query(sql, params, limit=limit)

    def export_segment(self, segment_id: str, path: Path,
                       fmt: Literal["csv", "json"]) -> Path:
        """Write one segment's user list (CSV or JSON) for CRM/ads tools."""
        users = self.users_of(segment_id)[["user", "segment", "confidence", "top_interests"]]
        if fmt == "csv":
            return atomic_write_csv(Path(path), users)
        return atomic_write_text(Path(path), json.dumps(users.to_dict("records"),
                                                        ensure_ascii=False, indent=2))

    def pipeline_mermaid(self) -> str:
        """Return the Mermaid diagram of the stages with the last run's counts."""
        runs = self.store.runs()
        summary = json.loads(runs["summary"].iloc[-1]) if len(runs) else {}
        return pipeline_mermaid(stage_counts(summary))

    def _explain(self, recommendations: list[Recommendation]) -> list[Recommendation]:
        """Rewrite templated reasons with the LLM when one is configured (kept on failure)."""
        if self.llm is None:
            return recommendations
        return explain_recommendations(recommendations, interests=self._interests(),
                                       client=self.llm).recommendations

    def _encode(self, text: str) -> np.ndarray:
        if self._encoder is None:
            self._encoder = load_artifact(self.store.path, ENCODER_ARTIFACT)
        vectors, _ = self._encoder.encode([text], self.store)
        return vectors

    def _recommender_(self) -> StoreRecommender:
        if self._recommender is None:
            self._recommender = StoreRecommender(self.store, self._table("events"),
                                                 self._interests())
        return self._recommender

    def _interests(self) -> dict[str, list[str]]:
        """Return the interests of every user and segment, cited by recommendation reasons."""
        interests = {u: t.split(";") for u, t in
                     zip(self._users["user"], self._users["top_interests"].fillna(""))}
        return interests | {s.segment_id: list(s.keywords[:5]) for s in self._segments}

