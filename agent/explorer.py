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
from interestlens.tools.catalogue import ItemFilter
from interestlens.tools.errors import ConfigError, InputError, StoreError
from interestlens.tools.evidence import SegmentComparison, compare_segments
from interestlens.tools.recommend import EVIDENCE_SEPARATOR
from interestlens.tools.records import Recommendation, Segment
from interestlens.tools.report import pipeline_mermaid, project_2d, sample_rows, stage_counts
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact

EXPORT_COLUMNS: tuple[str, ...] = ("user", "segment", "level", "rank", "item", "item_text",
                                   "score", "reason", "reason_mode", "evidence")


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
        self._user_maps: dict[int, pd.DataFrame] = {}

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

    def recommend(self, user_id: str, k: int,
                  item_filter: ItemFilter | None = None) -> list[Recommendation]:
        """Recommend ``k`` unseen items to one user, among the items passing ``item_filter``."""
        _check_k(k)
        profile = self.user(user_id)
        vector = self.store.get_vectors("users", [profile.user])[0]
        return self._explain(self._recommender_().for_owner(profile.user, vector, k,
                                                            item_filter=item_filter))

    def recommend_for_segment(self, segment_id: str, k: int,
                              item_filter: ItemFilter | None = None) -> list[Recommendation]:
        """Recommend ``k`` items to a whole segment, from its centroid."""
        _check_k(k)
        segment = self.segment(segment_id)
        vector = self.store.get_vectors("segments", [segment.segment_id])[0]
        return self._explain(self._recommender_().for_segment(segment.segment_id, vector, k,
                                                              item_filter=item_filter))

    def recommend_all(self, k: int, item_filter: ItemFilter | None = None) -> pd.DataFrame:
        """Return ``k`` templated recommendations for every user (``EXPORT_COLUMNS``)."""
        _check_k(k)
        users = self._users["user"].astype(str).tolist()
        recommender = self._recommender_()
        frame = recommender.rank(users, None, k, item_filter=item_filter)
        frame["segment"] = frame["user"].map(self._users["segment"]).astype(str)
        frame["item_text"] = frame["item"].map(recommender.item_texts).fillna("")
        return frame[list(EXPORT_COLUMNS)]

    def export_recommendations(self, path: Path, k: int,
                               item_filter: ItemFilter | None = None) -> Path:
        """Write every user's recommendations as CSV or JSON (evidence as a list), by suffix."""
        if path.suffix.lower() not in (".csv", ".json"):
            raise ConfigError(f"--out {path}: expected a .csv or .json file")
        frame = self.recommend_all(k, item_filter)
        if path.suffix.lower() == ".csv":
            return atomic_write_csv(path, frame)
        records = frame.assign(evidence=frame["evidence"].map(
            lambda text: [part for part in text.split(EVIDENCE_SEPARATOR) if part]))
        return atomic_write_text(path, json.dumps(records.to_dict("records"), ensure_ascii=False,
                                                  indent=2) + "\n")

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

    def user_map(self, max_points: int) -> pd.DataFrame:
        """Return a 2-D map of a deterministic sample of at most ``max_points`` users.

        Columns: user, segment, confidence, top_interests, x, y (t-SNE of the interest vectors).
        """
        if max_points not in self._user_maps:
            users = self._users.iloc[sample_rows(len(self._users), max_points)]
            vectors = self.store.get_vectors("users", users["user"].tolist())
            rows, coords = project_2d(vectors, max_points=max_points)
            frame = users.iloc[rows][["user", "segment", "confidence", "top_interests"]]
            self._user_maps[max_points] = frame.reset_index(drop=True).assign(
                x=coords[:, 0], y=coords[:, 1])
        return self._user_maps[max_points]

    def user_events(self, user_id: str, limit: int) -> pd.DataFrame:
        """Return one user's latest events: timestamp, event_type, item_text, sentiment, text."""
        return self.store.query(
            'SELECT timestamp, event_type, item_text, sentiment, text FROM events '
            'WHERE "user" = ? ORDER BY timestamp DESC NULLS LAST, event_id',
            [self.user(user_id).user], limit=limit)

    def interest_sentiment(self, user_id: str) -> pd.DataFrame:
        """Return a user's top interests with the number and mean sentiment of their mentions.

        Columns: interest, n_events (the user's events whose text contains it), sentiment.
        """
        profile = self.user(user_id)
        interests = list(profile.top_interests)
        return self.store.query(
            'WITH mine AS (SELECT lower(text) AS text, sentiment FROM events WHERE "user" = ?) '
            "SELECT i.interest, count(m.text) AS n_events, avg(m.sentiment) AS sentiment "
            "FROM (SELECT unnest(?::VARCHAR[]) AS interest, "
            "generate_subscripts(?::VARCHAR[], 1) AS pos) AS i "
            "LEFT JOIN mine AS m ON contains(m.text, lower(i.interest)) "
            "GROUP BY i.pos, i.interest ORDER BY i.pos",
            [profile.user, interests, interests], limit=max(len(interests), 1))

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
            try:
                self._recommender = StoreRecommender.from_store(self.store, self._interests())
            except StoreError as err:  # a store without a run: an error naming the fix
                raise StoreError(f"{err}; run `interestlens run` into this store first") from err
        return self._recommender

    def _interests(self) -> dict[str, list[str]]:
        """Return the interests of every user and segment, cited by recommendation reasons."""
        interests = {u: t.split(";") for u, t in
                     zip(self._users["user"], self._users["top_interests"].fillna(""))}
        return interests | {s.segment_id: list(s.keywords[:5]) for s in self._segments}


def _check_k(k: int) -> None:
    """Refuse a non-positive ``k`` before any ranking path sees it (``-k 0`` or ``-k -5``)."""
    if k < 1:
        raise ConfigError(f"recommendations need k >= 1, got k={k}")
