"""Segment snapshots built without every vector: revised by the users who changed, re-centred.

A snapshot's centroid ``c`` and spread ``s`` (mean cosine distance of the members to ``c``) hold
the sum of its ``n`` members' unit vectors: ``sum = n * (1 - s) * c``. So an update that changes
a few users revises the snapshot from those users' old and new vectors alone, exactly as if it
were rebuilt from all members (``snapshot_from_labels``).

Only *active* users are members: a user whose latest event is older than the activity horizon has
aged out (MONIC's age function at weight 0), so a segment whose users all went quiet dies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from interestlens.tools.cluster import normalise_rows
from interestlens.tools.evolve import SegmentSnapshot, rename_segments

_DAY = pd.Timedelta(days=1)


def is_active(last_seen: pd.Series, now: pd.Timestamp | None,
              horizon_days: float | None) -> np.ndarray:
    """Return which users were active within ``horizon_days`` before ``now``.

    A user with no known event time, or any user when ``now`` or ``horizon_days`` is None,
    counts as active.
    """
    stamps = pd.to_datetime(pd.Series(last_seen), utc=True)
    if now is None or horizon_days is None:
        return np.ones(len(stamps), dtype=bool)
    cutoff = pd.Timestamp(now) - horizon_days * _DAY
    return (stamps.isna() | (stamps >= cutoff)).to_numpy(dtype=bool)


def revise_snapshot(previous: SegmentSnapshot, snapshot_id: str, taken_at: datetime, *,
                    user_ids: Sequence[str], segment_ids: Sequence[str | None],
                    vectors: np.ndarray, previous_vectors: np.ndarray) -> SegmentSnapshot:
    """Return ``previous`` with some users moved, as a new snapshot.

    Each listed user leaves the segment it had in ``previous`` (its row of ``previous_vectors``
    is taken out of that segment's member sum; the row is ignored for a user who was in no
    segment) and joins ``segment_ids[i]`` with ``vectors[i]`` (None: it joins none, e.g. it
    went inactive). Segments left with no member are dropped; new ids are added.

    Raises:
        ValueError: Lengths differ, a user repeats, or the vectors' width is not the snapshot's.
    """
    users = [str(u) for u in user_ids]
    vectors = normalise_rows(np.asarray(vectors, dtype=np.float64).reshape(len(users), -1))
    old = normalise_rows(np.asarray(previous_vectors, dtype=np.float64).reshape(len(users), -1))
    width = previous.centroids.shape[1] if len(previous.segment_ids) else vectors.shape[1]
    if len(segment_ids) != len(users) or len(set(users)) != len(users):
        raise ValueError("user_ids must be distinct and line up with segment_ids")
    if len(users) and (vectors.shape[1] != width or old.shape[1] != width):
        raise ValueError(f"vectors must have the snapshot's width {width}")
    members = {sid: set(previous.members[sid]) for sid in previous.segment_ids}
    sums = {sid: previous.size(sid) * (1.0 - previous.spreads[row]) * previous.centroids[row]
            for row, sid in enumerate(previous.segment_ids)}
    where = {user: sid for sid in previous.segment_ids for user in previous.members[sid]}
    for row, user in enumerate(users):
        if user in where:
            members[where[user]].discard(user)
            sums[where[user]] = sums[where[user]] - old[row]
        target = segment_ids[row]
        if target is not None:
            members.setdefault(str(target), set()).add(user)
            sums[str(target)] = sums.get(str(target), np.zeros(width)) + vectors[row]
    ids = tuple(sid for sid in members if members[sid])
    totals = np.array([sums[sid] for sid in ids]).reshape(len(ids), width)
    sizes = np.array([len(members[sid]) for sid in ids], dtype=np.float64)
    norms = np.linalg.norm(totals, axis=1)
    snapshot = SegmentSnapshot(
        snapshot_id=snapshot_id, taken_at=taken_at, segment_ids=ids,
        members={sid: frozenset(members[sid]) for sid in ids},
        centroids=normalise_rows(totals),
        spreads=np.clip(1.0 - norms / np.maximum(sizes, 1.0), 0.0, 2.0))
    return rename_segments(snapshot, {})  # natural id order, as snapshot_from_labels gives


def recentre_snapshot(snapshot: SegmentSnapshot, user_ids: Sequence[str],
                      vectors: np.ndarray) -> SegmentSnapshot:
    """Return ``snapshot`` with centroids and spreads taken from ``vectors`` of its members.

    Use it to compare a snapshot with one taken in another vector space (a full re-run fits a
    new text representation): members are kept; each segment is re-centred on the vectors found
    for its members (a segment with none found gets a zero centroid and spread 0).
    """
    unit = normalise_rows(np.asarray(vectors, dtype=np.float64).reshape(len(user_ids), -1))
    index = {str(user): row for row, user in enumerate(user_ids)}
    centroids = np.zeros((len(snapshot.segment_ids), unit.shape[1]))
    spreads = np.zeros(len(snapshot.segment_ids))
    for row, sid in enumerate(snapshot.segment_ids):
        found = [index[u] for u in sorted(snapshot.members[sid]) if u in index]
        if found:
            centroids[row] = normalise_rows(unit[found].mean(axis=0, keepdims=True))[0]
            spreads[row] = float(np.mean(1.0 - unit[found] @ centroids[row]))
    return SegmentSnapshot(snapshot_id=snapshot.snapshot_id, taken_at=snapshot.taken_at,
                           segment_ids=snapshot.segment_ids, members=snapshot.members,
                           centroids=centroids, spreads=spreads)
