"""The store's history of segment snapshots and the transitions between them.

A run replaces the result tables, but the history outlives it: each run or update appends one
snapshot (who was in which segment, each segment's centroid and spread) and the transitions that
led to it. Tables: ``snapshots``, ``snapshot_segments``, ``snapshot_members``, ``transitions``.
They are readable with ``Store.query`` like any other table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from interestlens.tools.errors import StoreError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS snapshots (snapshot_id INTEGER PRIMARY KEY,"
    " taken_at TIMESTAMPTZ NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, kind VARCHAR NOT NULL,"
    " label VARCHAR NOT NULL, space_id VARCHAR NOT NULL, is_reclustered BOOLEAN NOT NULL,"
    " summary VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshot_segments (snapshot_id INTEGER NOT NULL,"
    " segment_id VARCHAR NOT NULL, size INTEGER NOT NULL, spread DOUBLE NOT NULL,"
    " centroid FLOAT[] NOT NULL, name VARCHAR NOT NULL, PRIMARY KEY (snapshot_id, segment_id))",
    "CREATE TABLE IF NOT EXISTS snapshot_members (snapshot_id INTEGER NOT NULL,"
    ' "user" VARCHAR NOT NULL, segment_id VARCHAR NOT NULL)',
    "CREATE TABLE IF NOT EXISTS transitions (snapshot_id INTEGER NOT NULL, position INTEGER NOT"
    " NULL, kind VARCHAR NOT NULL, source_ids VARCHAR[] NOT NULL, target_ids VARCHAR[] NOT NULL,"
    " overlap DOUBLE NOT NULL, centroid_similarity DOUBLE NOT NULL, detail VARCHAR NOT NULL,"
    " PRIMARY KEY (snapshot_id, position))",
    # stores whose history began before segment names were kept
    "ALTER TABLE snapshot_segments ADD COLUMN IF NOT EXISTS name VARCHAR DEFAULT ''",
)
TRANSITION_COLUMNS = ("kind", "source_ids", "target_ids", "overlap", "centroid_similarity",
                      "detail")


@dataclass(frozen=True)
class StoredSnapshot:
    """One snapshot as stored: its row, its segments (rows match ``centroids``) and members."""

    info: pd.Series  # snapshot_id, taken_at, recorded_at, kind, label, space_id, ...
    segments: pd.DataFrame  # segment_id, size, spread
    centroids: np.ndarray
    members: pd.DataFrame  # user, segment_id


class SnapshotsMixin:
    """Snapshot methods of ``Store``; needs ``path`` and ``_cursor()``."""

    path: Path

    def _cursor(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError

    @contextmanager
    def _history(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a cursor on which the snapshot tables exist."""
        with self._cursor() as cur:
            for statement in _SCHEMA:
                cur.execute(statement)
            yield cur

    def record_snapshot(self, *, taken_at: datetime, kind: str, label: str, space_id: str,
                        is_reclustered: bool, segments: pd.DataFrame, centroids: np.ndarray,
                        members: pd.DataFrame, transitions: pd.DataFrame,
                        summary: Mapping[str, object] | None = None) -> int:
        """Append one snapshot with its segments, members and transitions; return its id.

        Args:
            taken_at: The data time of the snapshot (tz-aware).
            kind: "run", "update" or "replay".
            label: A short name, e.g. a replay window.
            space_id: The vector space its centroids live in.
            is_reclustered: Whether the segments were re-clustered for it.
            segments: Columns ``segment_id, size, spread`` and optionally ``name``; row i
                matches ``centroids[i]``.
            centroids: ``(n_segments, d)`` unit rows.
            members: Columns ``user, segment_id``.
            transitions: Columns ``TRANSITION_COLUMNS``, in order.
            summary: JSON-able counts of the run or update.

        Raises:
            StoreError: DuckDB refused the rows.
        """
        centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        if centroids.ndim != 2 or len(centroids) != len(segments):
            raise ValueError(f"need one centroid row per segment, got {centroids.shape} for "
                             f"{len(segments)} segments")
        offsets = np.arange(len(segments) + 1, dtype=np.int64) * centroids.shape[1]
        segment_rows = pa.table({
            "segment_id": pa.array(segments["segment_id"].astype(str).tolist(), pa.string()),
            "size": pa.array(segments["size"].astype(int).tolist(), pa.int32()),
            "spread": pa.array(segments["spread"].astype(float).tolist(), pa.float64()),
            "centroid": pa.LargeListArray.from_arrays(offsets, pa.array(centroids.ravel())),
            "name": pa.array(segments.get("name", pd.Series("", index=segments.index))
                             .fillna("").astype(str).tolist(), pa.string()),
        })
        member_rows = pa.table({
            "user": pa.array(members["user"].astype(str).tolist(), pa.string()),
            "segment_id": pa.array(members["segment_id"].astype(str).tolist(), pa.string()),
        })
        transition_rows = pa.Table.from_pandas(
            transitions.reindex(columns=list(TRANSITION_COLUMNS)).assign(
                position=range(len(transitions)),
                source_ids=lambda f: f["source_ids"].map(list),
                target_ids=lambda f: f["target_ids"].map(list))[["position",
                                                                 *TRANSITION_COLUMNS]],
            schema=pa.schema([("position", pa.int32()), ("kind", pa.string()),
                              ("source_ids", pa.list_(pa.string())),
                              ("target_ids", pa.list_(pa.string())), ("overlap", pa.float64()),
                              ("centroid_similarity", pa.float64()), ("detail", pa.string())]),
            preserve_index=False)
        text = json.dumps(dict(summary or {}), ensure_ascii=False, sort_keys=True, default=str)
        with self._history() as cur:
            cur.begin()
            try:
                (snapshot_id,) = cur.execute(
                    "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots").fetchone()
                cur.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [snapshot_id, taken_at, datetime.now(timezone.utc), kind, label,
                             space_id, is_reclustered, text])
                for name, rows in (("snapshot_segments", segment_rows),
                                   ("snapshot_members", member_rows)):
                    cur.register("_rows", rows)
                    cur.execute(f"INSERT INTO {name} SELECT ?, * FROM _rows", [snapshot_id])
                    cur.unregister("_rows")
                cur.register("_rows", transition_rows)
                cur.execute("INSERT INTO transitions SELECT ?, * FROM _rows", [snapshot_id])
                cur.commit()
            except duckdb.Error as err:
                cur.rollback()
                raise StoreError(f"{self.path}: cannot record the snapshot: {err}") from err
            except BaseException:
                cur.rollback()
                raise
        return int(snapshot_id)

    def snapshots(self) -> pd.DataFrame:
        """Return every snapshot, oldest first (empty when there is none)."""
        with self._history() as cur:
            return cur.execute("SELECT * FROM snapshots ORDER BY snapshot_id").df()

    def snapshot_sizes(self) -> pd.DataFrame:
        """Return ``snapshot_id, segment_id, size, name`` for every segment of every snapshot."""
        with self._history() as cur:
            return cur.execute("SELECT snapshot_id, segment_id, size, name FROM snapshot_segments"
                               " ORDER BY snapshot_id, segment_id").df()

    def snapshot_transitions(self, snapshot_id: int | None = None) -> pd.DataFrame:
        """Return the transitions into one snapshot (all snapshots when None), in order."""
        where = "" if snapshot_id is None else " WHERE snapshot_id = ?"
        with self._history() as cur:
            frame = cur.execute(f"SELECT * FROM transitions{where} ORDER BY snapshot_id, position",
                                [] if snapshot_id is None else [snapshot_id]).df()
        for column in ("source_ids", "target_ids"):
            frame[column] = frame[column].map(lambda ids: tuple(str(i) for i in ids))
        return frame

    def load_snapshot(self, snapshot_id: int | None = None) -> StoredSnapshot | None:
        """Return one snapshot (the latest when None), or None when there is no such snapshot."""
        with self._history() as cur:
            info = cur.execute(
                "SELECT * FROM snapshots WHERE snapshot_id = coalesce(?, (SELECT max(snapshot_id)"
                " FROM snapshots))", [snapshot_id]).df()
            if info.empty:
                return None
            sid = int(info["snapshot_id"].iat[0])
            rows = cur.sql("SELECT segment_id, size, spread, centroid FROM snapshot_segments"
                           " WHERE snapshot_id = ? ORDER BY segment_id",
                           params=[sid]).to_arrow_table()
            members = cur.execute('SELECT "user", segment_id FROM snapshot_members'
                                  " WHERE snapshot_id = ?", [sid]).df()
        segments = rows.drop(["centroid"]).to_pandas()
        centroids = (np.array(rows["centroid"].to_pylist(), dtype=np.float64) if len(segments)
                     else np.zeros((0, 0)))
        return StoredSnapshot(info=info.iloc[0], segments=segments, centroids=centroids,
                              members=members)

    def known_segment_ids(self) -> set[str]:
        """Return every segment id any snapshot ever held."""
        with self._history() as cur:
            rows = cur.execute("SELECT DISTINCT segment_id FROM snapshot_segments").fetchall()
        return {row[0] for row in rows}
