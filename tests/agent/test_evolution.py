"""Segment history in a store: stable ids for segments with no active member, trends read back."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from interestlens.agent.evolution import Tracking, load_trends, previous_snapshot, record, track
from interestlens.tools.evolve import SegmentTracker, snapshot_from_labels
from interestlens.vectorstore import Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2026, 3, 1, tzinfo=timezone.utc)
USERS = [f"u{i}" for i in range(10)]
VECTORS = np.vstack([np.tile([1.0, 0.0, 0.0], (5, 1)), np.tile([0.0, 1.0, 0.0], (5, 1))])
VECTORS = VECTORS + np.random.default_rng(0).normal(scale=0.05, size=VECTORS.shape)


def first_snapshot(store):
    current = snapshot_from_labels("run 1", T0, USERS, ["S1"] * 5 + ["S2"] * 5, VECTORS)
    tracking = track(store, SegmentTracker(), None, current)
    record(store, tracking, kind="run", space_id="space", is_reclustered=True,
           names={"S1": "coffee", "S2": "hiking"})
    return tracking


def test_the_first_snapshot_keeps_its_ids_and_records_no_transition(tmp_store):
    with Store(tmp_store) as store:
        tracking = first_snapshot(store)
        assert tracking.mapping == {"S1": "S1", "S2": "S2"} and tracking.transitions == ()
        assert previous_snapshot(store, space_id="space", user_ids=[],
                                 vectors=np.empty((0, 0))).members["S2"] == frozenset(USERS[5:])


def test_a_segment_whose_users_went_quiet_dies_but_keeps_its_id_while_unchanged(tmp_store):
    with Store(tmp_store) as store:
        first_snapshot(store)
        previous = previous_snapshot(store, space_id="space", user_ids=[],
                                     vectors=np.empty((0, 0)))
        quiet = snapshot_from_labels("update 2", T1, USERS[:5], ["S1"] * 5, VECTORS[:5])
        kept = track(store, SegmentTracker(), previous, quiet, all_ids=("S1", "S2"),
                     are_stable=True)
        fresh = track(store, SegmentTracker(), previous, quiet, all_ids=("S1", "S2"))
    assert [t.kind for t in kept.transitions] == ["survived", "died"]
    assert kept.mapping == {"S1": "S1", "S2": "S2"}  # same segmentation: same ids
    assert fresh.mapping == {"S1": "S1", "S2": "S3"}  # a new clustering: a fresh id


def test_trends_hold_sizes_names_and_transitions_per_snapshot(tmp_store):
    with Store(tmp_store) as store:
        first_snapshot(store)
        previous = previous_snapshot(store, space_id="space", user_ids=[],
                                     vectors=np.empty((0, 0)))
        grown = snapshot_from_labels("update 2", T1, [*USERS[:5], "n1", "n2"], ["S1"] * 7,
                                     np.vstack([VECTORS[:5], VECTORS[:2]]))
        tracking: Tracking = track(store, SegmentTracker(), previous, grown,
                                   all_ids=("S1", "S2"), are_stable=True)
        record(store, tracking, kind="update", space_id="space", is_reclustered=False,
               names={"S1": "coffee beans"})
        trends = load_trends(store)
    assert trends.snapshots["label"].tolist() == ["run 1", "update 2"]
    assert trends.snapshots["n_users"].tolist() == [10, 7]
    assert trends.sizes.loc["S1"].tolist() == [5, 7] and trends.sizes.loc["S2"].tolist() == [5, 0]
    assert trends.names == {"S1": "coffee beans", "S2": "hiking"}  # the dead S2 keeps its name
    assert trends.first_names == {"S1": "coffee", "S2": "hiking"}
    assert set(trends.transitions["kind"]) == {"survived", "died", "grew"}
    growth = trends.growth()
    assert growth.iloc[0].to_dict() == {"segment_id": "S1", "before": 5, "after": 7, "change": 2,
                                        "relative": 0.4}
