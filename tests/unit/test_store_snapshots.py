"""The store's snapshot history: appended, read back in order, outliving a table replacement."""

from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from interestlens.tools.errors import StoreError
from interestlens.vectorstore import Store
from interestlens.vectorstore.snapshots import _SCHEMA as HISTORY_SCHEMA
from interestlens.vectorstore.snapshots import TRANSITION_COLUMNS
from interestlens.vectorstore.store import DB_FILE

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SNAPSHOTS_TABLE = HISTORY_SCHEMA[0]


def segments(*rows):
    return pd.DataFrame(rows, columns=["segment_id", "size", "spread"])


def transitions(*rows):
    return pd.DataFrame(rows, columns=list(TRANSITION_COLUMNS))


def record(store, label, segment_rows, members, transition_rows=(), dim=3):
    return store.record_snapshot(
        taken_at=T0, kind="update", label=label, space_id="abc", is_reclustered=False,
        segments=segments(*segment_rows), centroids=np.eye(len(segment_rows), dim),
        members=pd.DataFrame(members, columns=["user", "segment_id"]),
        transitions=transitions(*transition_rows), summary={"n_users": len(members)})


def test_snapshots_are_numbered_and_read_back_with_their_segments_and_members(tmp_store):
    with Store(tmp_store) as store:
        assert store.load_snapshot() is None and store.snapshots().empty
        first = record(store, "run 1", [("S1", 2, 0.1), ("S2", 1, 0.0)],
                       [("a", "S1"), ("b", "S1"), ("c", "S2")])
        second = record(store, "update 2", [("S1", 3, 0.2)],
                        [("a", "S1"), ("b", "S1"), ("c", "S1")],
                        [("survived", ("S1",), ("S1",), 1.0, 0.99, "S1 -> S1"),
                         ("merged", ("S1", "S2"), ("S1",), 1.0, 0.9, "S1, S2 merged")])
        latest = store.load_snapshot()
        old = store.load_snapshot(first)
        assert (first, second) == (1, 2)
        assert store.snapshots()["label"].tolist() == ["run 1", "update 2"]
        assert latest.info["label"] == "update 2" and latest.segments["size"].tolist() == [3]
        assert old.segments["segment_id"].tolist() == ["S1", "S2"]
        np.testing.assert_allclose(old.centroids, np.eye(2, 3))
        assert sorted(map(tuple, old.members.to_numpy())) == [("a", "S1"), ("b", "S1"),
                                                              ("c", "S2")]
        moves = store.snapshot_transitions(second)
        assert moves["kind"].tolist() == ["survived", "merged"]
        assert moves["source_ids"].iat[1] == ("S1", "S2")
        assert store.known_segment_ids() == {"S1", "S2"}
        assert store.snapshot_sizes().values.tolist() == [[1, "S1", 2, ""], [1, "S2", 1, ""],
                                                           [2, "S1", 3, ""]]


def test_the_history_outlives_a_run_that_replaces_the_tables(tmp_store):
    with Store(tmp_store) as store:
        record(store, "run 1", [("S1", 1, 0.0)], [("a", "S1")])
        store.write_table("users", pd.DataFrame({"user": ["a"]}), key=None)
        store.write_table("users", pd.DataFrame({"user": ["b"]}), key=None)
    with Store(tmp_store) as store:
        assert len(store.snapshots()) == 1
        assert store.query("SELECT count(*) AS n FROM snapshot_members")["n"].iat[0] == 1


def test_an_empty_snapshot_is_recorded(tmp_store):
    with Store(tmp_store) as store:
        record(store, "nobody active", [], [])
        assert store.load_snapshot().segments.empty


def test_a_failed_snapshot_leaves_no_partial_rows(tmp_store):
    with Store(tmp_store) as store:
        with pytest.raises(StoreError, match="cannot record the snapshot"):
            record(store, "bad", [("S1", 1, 0.0), ("S1", 1, 0.0)], [("a", "S1")])  # id twice
        assert store.snapshots().empty
        assert store.query("SELECT count(*) AS n FROM snapshot_members")["n"].iat[0] == 0


def test_a_history_begun_before_names_were_kept_takes_the_new_column(tmp_store):
    with Store(tmp_store) as store:
        with store._cursor() as cur:  # the table as the first snapshots wrote it
            cur.execute("CREATE TABLE snapshot_segments (snapshot_id INTEGER NOT NULL,"
                        " segment_id VARCHAR NOT NULL, size INTEGER NOT NULL, spread DOUBLE"
                        " NOT NULL, centroid FLOAT[] NOT NULL)")
        record(store, "run 1", [("S1", 1, 0.0)], [("a", "S1")])
        assert store.snapshot_sizes()["name"].tolist() == [""]


def test_a_history_written_before_segment_names_were_kept_is_upgraded(tmp_store):
    tmp_store.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(tmp_store / DB_FILE)) as con:  # the table as the first release made it
        con.execute("CREATE TABLE snapshot_segments (snapshot_id INTEGER NOT NULL, segment_id"
                    " VARCHAR NOT NULL, size INTEGER NOT NULL, spread DOUBLE NOT NULL, centroid"
                    " FLOAT[] NOT NULL, PRIMARY KEY (snapshot_id, segment_id))")
        con.execute("INSERT INTO snapshot_segments VALUES (1, 'S1', 2, 0.1, [1.0, 0.0, 0.0])")
        con.execute(SNAPSHOTS_TABLE)
        con.execute("INSERT INTO snapshots VALUES (1, ?, ?, 'run', 'run 1', 'abc', true, '{}')",
                    [T0, T0])
    with Store(tmp_store) as store:
        record(store, "update 2", [("S1", 3, 0.2)], [("a", "S1")])
        assert store.snapshot_sizes().values.tolist() == [[1, "S1", 2, ""], [2, "S1", 3, ""]]
