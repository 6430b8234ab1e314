"""Snapshots revised from the users who changed equal snapshots rebuilt from every vector."""

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from interestlens.tools.evolve import snapshot_from_labels
from interestlens.tools.snapshots import is_active, recentre_snapshot, revise_snapshot

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2026, 2, 1, tzinfo=timezone.utc)


def population(seed=0, n=60, dim=8):
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:3] * 3
    labels = np.repeat(["S1", "S2", "S3"], n // 3)
    vectors = centres[np.repeat([0, 1, 2], n // 3)] + rng.normal(size=(n, dim))
    return np.array([f"u{i:03d}" for i in range(n)]), labels, vectors


def test_revising_a_few_users_equals_rebuilding_from_all_vectors():
    users, labels, vectors = population()
    before = snapshot_from_labels("before", T0, users, labels, vectors)
    rng = np.random.default_rng(1)
    moved = ["u000", "u001", "u025", "u059"]  # two change vector, one moves, one goes quiet
    new_labels, new_vectors = labels.copy().astype(object), vectors.copy()
    rows = [int(u[1:]) for u in moved]
    new_vectors[rows[:3]] += rng.normal(size=(3, vectors.shape[1]))
    new_labels[rows[2]] = "S1"
    new_labels[rows[3]] = None  # inactive: in no segment
    extra_users = np.array(["n1", "n2"])  # new users: one joins S2, one founds S4
    extra_vectors = rng.normal(size=(2, vectors.shape[1]))
    keep = np.array([label is not None for label in new_labels])
    rebuilt = snapshot_from_labels(
        "after", T1, np.concatenate([users[keep], extra_users]),
        np.concatenate([new_labels[keep], ["S2", "S4"]]),
        np.vstack([new_vectors[keep], extra_vectors]))

    revised = revise_snapshot(
        before, "after", T1, user_ids=[*moved, *extra_users],
        segment_ids=[*new_labels[rows], "S2", "S4"],
        vectors=np.vstack([new_vectors[rows], extra_vectors]),
        previous_vectors=np.vstack([vectors[rows], np.zeros((2, vectors.shape[1]))]))

    assert revised.segment_ids == rebuilt.segment_ids == ("S1", "S2", "S3", "S4")
    assert dict(revised.members) == dict(rebuilt.members)
    np.testing.assert_allclose(revised.centroids, rebuilt.centroids, atol=1e-9)
    np.testing.assert_allclose(revised.spreads, rebuilt.spreads, atol=1e-9)


def test_a_segment_whose_members_all_leave_is_dropped():
    users, labels, vectors = population()
    before = snapshot_from_labels("before", T0, users, labels, vectors)
    leaving = users[labels == "S3"]
    revised = revise_snapshot(before, "after", T1, user_ids=leaving,
                              segment_ids=[None] * len(leaving),
                              vectors=np.zeros((len(leaving), vectors.shape[1])),
                              previous_vectors=vectors[labels == "S3"])
    assert revised.segment_ids == ("S1", "S2")
    assert revised.users == frozenset(users[labels != "S3"])


def test_revise_rejects_repeated_users_and_wrong_widths():
    users, labels, vectors = population()
    before = snapshot_from_labels("before", T0, users, labels, vectors)
    with pytest.raises(ValueError, match="distinct"):
        revise_snapshot(before, "x", T1, user_ids=["u000", "u000"], segment_ids=["S1", "S1"],
                        vectors=vectors[:2], previous_vectors=vectors[:2])
    with pytest.raises(ValueError, match="width 8"):
        revise_snapshot(before, "x", T1, user_ids=["u000"], segment_ids=["S1"],
                        vectors=np.ones((1, 5)), previous_vectors=np.ones((1, 5)))


def test_recentre_keeps_members_and_takes_centroids_from_the_given_vectors():
    users, labels, vectors = population()
    before = snapshot_from_labels("before", T0, users, labels, vectors)
    other_space = np.random.default_rng(3).normal(size=(len(users), 5))
    recentred = recentre_snapshot(before, users[:40], other_space[:40])  # S3's users missing
    expected = snapshot_from_labels("x", T0, users[:40], labels[:40], other_space[:40])
    assert dict(recentred.members) == dict(before.members)
    np.testing.assert_allclose(recentred.centroids[:2], expected.centroids, atol=1e-9)
    assert not recentred.centroids[2].any() and recentred.spreads[2] == 0


def test_users_are_active_within_the_horizon_and_undated_users_always():
    last_seen = pd.Series(pd.to_datetime(["2026-01-01", "2026-03-01", None], utc=True))
    now = pd.Timestamp("2026-03-31", tz="UTC")
    assert is_active(last_seen, now, 45).tolist() == [False, True, True]
    assert is_active(last_seen, now, None).all()
    assert is_active(last_seen, None, 45).all()
