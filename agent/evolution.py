"""Segment history in the store: stable ids across runs and updates, snapshots, transitions, trends.

Every run and every update that changes something records one snapshot of the *active* users
(``ACTIVE_HALF_LIVES`` profile half-lives since their last event; everyone when events have no
time or decay is off). Its segments are matched to the previous snapshot's (MONIC, see
``tools.evolve``), so they keep their ids; the transitions are stored beside it.

Centroids live in the space of the text encoder of the last full run. A run fits a new encoder,
so the previous snapshot is re-centred on its members' profiles in the new space: across a full
re-run membership changes (split, merge, birth, death, growth) are found, drift is not. Updates
keep the encoder and find both.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from interestlens.agent.encoder import FusedEncoder
from interestlens.agent.settings import Settings
from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.evolve import (
    SegmentSnapshot,
    SegmentTracker,
    Transition,
    fresh_ids,
    natural_key,
    rename_segments,
    sankey_mermaid,
    snapshot_from_labels,
)
from interestlens.tools.profile import Profiles
from interestlens.tools.report_evolution import EvolutionView
from interestlens.tools.segment import ProfileSegmenter
from interestlens.tools.snapshots import is_active, recentre_snapshot
from interestlens.vectorstore import Store
from interestlens.vectorstore.snapshots import TRANSITION_COLUMNS

logger = logging.getLogger(__name__)

SEGMENT_MODEL = "segment_model"
ACTIVE_HALF_LIVES = 3.0  # a user is active until their newest event weighs 1/8
COMPACTNESS_THRESHOLD = 0.3  # relative spread change of a survivor: more or less compact


@dataclass
class SegmentModel:
    """The fitted segmentation of the last clustering, saved in the store for ``update``.

    Attributes:
        clusterer: The fitted density clusterer.
        segmenter: The fitted segmenter; row k of its centroids is segment ``segment_ids[k]``.
        segment_ids: Stable id of each segmenter row (renamed as the history goes on).
        space_id: The text encoder fit the profiles belong to (``space_of``).
    """

    clusterer: DensityClusterer
    segmenter: ProfileSegmenter
    segment_ids: tuple[str, ...]
    space_id: str


@dataclass(frozen=True)
class Tracking:
    """How one clustering or update lines up with the history.

    Attributes:
        previous: The last recorded snapshot (in the current space), None for the first.
        current: This snapshot, under stable ids.
        transitions: What changed since ``previous`` (empty for the first snapshot).
        mapping: Provisional segment id -> stable id, for every segment (also those with no
            active member, which are in no snapshot).
    """

    previous: SegmentSnapshot | None
    current: SegmentSnapshot
    transitions: tuple[Transition, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentTrends:
    """The store's history: snapshots, segment sizes per snapshot and the transitions.

    Attributes:
        snapshots: ``snapshot_id, label, kind, taken_at, is_reclustered, n_users, n_segments``.
        sizes: Active members per segment (rows) and snapshot (columns, by snapshot id); 0 when
            the segment was not in that snapshot.
        names: Segment id -> its name in the last snapshot that held it.
        first_names: Segment id -> its name in the first snapshot that held it (a segment whose
            members changed topic shows it: names come from the members of each snapshot).
        transitions: ``snapshot_id, label, kind, source_ids, target_ids, overlap,
            centroid_similarity, detail``, in order.
    """

    snapshots: pd.DataFrame
    sizes: pd.DataFrame
    transitions: pd.DataFrame
    names: dict[str, str] = field(default_factory=dict)
    first_names: dict[str, str] = field(default_factory=dict)

    def growth(self) -> pd.DataFrame:
        """Return each segment's size in the last two snapshots and the change, growing first."""
        if self.sizes.shape[1] == 0:
            return pd.DataFrame(columns=["segment_id", "before", "after", "change", "relative"])
        after = self.sizes.iloc[:, -1]
        before = self.sizes.iloc[:, -2] if self.sizes.shape[1] > 1 else after * 0
        frame = pd.DataFrame({"segment_id": self.sizes.index, "before": before.to_numpy(),
                              "after": after.to_numpy()})
        frame["change"] = frame["after"] - frame["before"]
        frame["relative"] = frame["change"] / frame["before"].where(frame["before"] > 0)
        return frame.sort_values(["change", "after"], ascending=False).reset_index(drop=True)


def activity_horizon(settings: Settings) -> float | None:
    """Return the days after their last event that users stay in snapshots (None: forever)."""
    return None if settings.half_life_days is None else ACTIVE_HALF_LIVES * settings.half_life_days


def space_of(encoder: FusedEncoder) -> str:
    """Return an id of the encoder's fitted space: a hash of what maps texts into it."""
    blob = pickle.dumps((encoder.embedding_model, round(encoder.lexical_weight, 6),
                         encoder.lexical_encoder), protocol=4)
    return hashlib.sha1(blob).hexdigest()[:12]


def tracker_for(settings: Settings) -> SegmentTracker:
    """Return the segment tracker (MONIC thresholds: survival 0.7, split 0.3).

    Compactness must change by 30 %: the spread of a segment of a few dozen users whose
    interests did not change moved by up to 24 % between two periods of the planted control
    scenario (``tools.scenarios``), time decay leaving each profile a handful of effective events.
    """
    return SegmentTracker(min_shared_users=settings.min_segment_users,
                          compactness_threshold=COMPACTNESS_THRESHOLD)


def previous_snapshot(store: Store, *, space_id: str, user_ids: Sequence[str],
                      vectors: np.ndarray) -> SegmentSnapshot | None:
    """Return the latest stored snapshot, re-centred on ``vectors`` when from another space."""
    stored = store.load_snapshot()
    if stored is None:
        return None
    members = stored.members.groupby("segment_id")["user"].agg(frozenset).to_dict()
    snapshot = SegmentSnapshot(
        snapshot_id=str(stored.info["label"]), taken_at=stored.info["taken_at"],
        segment_ids=tuple(stored.segments["segment_id"]),
        members={sid: members.get(sid, frozenset()) for sid in stored.segments["segment_id"]},
        centroids=stored.centroids, spreads=stored.segments["spread"].to_numpy())
    if stored.info["space_id"] != space_id:
        logger.info("previous snapshot is from another encoder fit: re-centred on current profiles")
        snapshot = recentre_snapshot(snapshot, user_ids, vectors)
    return rename_segments(snapshot, {})


def track(store: Store, tracker: SegmentTracker, previous: SegmentSnapshot | None,
          current: SegmentSnapshot, *, all_ids: Sequence[str] = (),
          are_stable: bool = False) -> Tracking:
    """Match ``current`` (provisional ids) to ``previous`` and give every segment a stable id.

    ``all_ids`` are the provisional ids of every segment, also those with no active member (not
    in ``current``). Those get fresh ids, unless ``are_stable`` (the ids are the stable ids of an
    unchanged segmentation): then each keeps its id while no current segment took it. Without a
    previous snapshot the ids are kept.
    """
    if previous is None:
        mapping = {sid: sid for sid in (*current.segment_ids, *all_ids)}
        return Tracking(previous=None, current=current, mapping=mapping)
    known = store.known_segment_ids()
    mapping, transitions = tracker.match(previous, current, known_ids=known)
    dormant = [sid for sid in dict.fromkeys(all_ids) if sid not in mapping]
    taken = set(mapping.values())
    mapping |= {sid: sid for sid in dormant if are_stable and sid not in taken}
    dormant = [sid for sid in dormant if sid not in mapping]
    seen = known | set(previous.segment_ids) | set(mapping.values()) | set(tracker.seen_ids_)
    mapping |= dict(zip(dormant, fresh_ids(seen, len(dormant))))
    return Tracking(previous=previous, current=tracker.renamed_,
                    transitions=tuple(transitions), mapping=mapping)


def clustering_snapshot(label: str, taken_at: pd.Timestamp, user_ids: Sequence[str],
                        segment_ids: Sequence[str], vectors: np.ndarray,
                        is_active: np.ndarray) -> SegmentSnapshot:
    """Return the snapshot of the active users of a clustering (provisional segment ids)."""
    users = np.asarray(user_ids).astype(str)
    return snapshot_from_labels(label, taken_at, users[is_active],
                                np.asarray(segment_ids, dtype=object)[is_active],
                                np.asarray(vectors)[is_active])


def stable_segment_ids(store: Store, tracker: SegmentTracker, profiles: Profiles,
                       labels: np.ndarray, n_segments: int, *, space_id: str, settings: Settings,
                       kind: str, label: str | None = None) -> tuple[np.ndarray, Tracking]:
    """Return the stable id of each of ``n_segments`` new segments, and how they were matched.

    ``labels`` is each profile's segment row (0..n_segments-1). The snapshot is taken at the
    latest event time (now when events have no time) over the active users.
    """
    provisional = np.array([f"S{i + 1}" for i in range(n_segments)], dtype=object)
    taken_at = data_time(profiles.last_seen)
    active = is_active(profiles.last_seen.to_numpy(), taken_at, activity_horizon(settings))
    current = clustering_snapshot(label or snapshot_label(store, kind), taken_at,
                                  profiles.user_ids, provisional[labels], profiles.matrix, active)
    previous = previous_snapshot(store, space_id=space_id, user_ids=profiles.user_ids,
                                 vectors=profiles.matrix)
    tracking = track(store, tracker, previous, current, all_ids=provisional)
    return np.array([tracking.mapping[sid] for sid in provisional], dtype=object), tracking


def data_time(last_seen: pd.Series) -> pd.Timestamp:
    """Return the latest known event time (UTC), or the current time when none is known."""
    latest = pd.to_datetime(pd.Series(last_seen), utc=True).max()
    return pd.Timestamp.now(tz="UTC") if pd.isna(latest) else latest


def snapshot_label(store: Store, kind: str) -> str:
    """Return the default label of the next snapshot, e.g. ``"update 3"``."""
    return f"{kind} {len(store.snapshots()) + 1}"


def record(store: Store, tracking: Tracking, *, kind: str, space_id: str,
           is_reclustered: bool, names: Mapping[str, str] | None = None,
           summary: dict | None = None) -> int:
    """Store the snapshot of ``tracking`` and its transitions; return the snapshot id.

    ``names`` (segment id -> name) are kept with the snapshot, so a segment that later dies
    still has its name in the history.
    """
    current = tracking.current
    members = pd.DataFrame([(user, sid) for sid in current.segment_ids
                            for user in sorted(current.members[sid])],
                           columns=["user", "segment_id"])
    segments = pd.DataFrame({"segment_id": list(current.segment_ids),
                             "size": [current.size(s) for s in current.segment_ids],
                             "spread": current.spreads,
                             "name": [(names or {}).get(s, "") for s in current.segment_ids]})
    transitions = pd.DataFrame([t.model_dump() for t in tracking.transitions],
                               columns=list(TRANSITION_COLUMNS))
    return store.record_snapshot(
        taken_at=current.taken_at, kind=kind, label=current.snapshot_id, space_id=space_id,
        is_reclustered=is_reclustered, segments=segments, centroids=current.centroids,
        members=members, transitions=transitions, summary=summary)


def load_trends(store: Store) -> SegmentTrends:
    """Return the store's snapshots, sizes per snapshot and transitions."""
    snapshots = store.snapshots()
    sizes = store.snapshot_sizes()
    table = (sizes.pivot(index="segment_id", columns="snapshot_id", values="size")
             .reindex(columns=snapshots["snapshot_id"]).fillna(0).astype(int))
    table = table.loc[sorted(table.index, key=natural_key)]
    counts = sizes.groupby("snapshot_id")["size"].agg(["sum", "count"])
    info = snapshots[["snapshot_id", "label", "kind", "taken_at", "is_reclustered"]].assign(
        n_users=lambda f: f["snapshot_id"].map(counts["sum"]).fillna(0).astype(int),
        n_segments=lambda f: f["snapshot_id"].map(counts["count"]).fillna(0).astype(int))
    transitions = store.snapshot_transitions()
    transitions.insert(1, "label", transitions["snapshot_id"].map(
        dict(zip(snapshots["snapshot_id"], snapshots["label"]))))
    named = sizes[sizes["name"] != ""].groupby("segment_id")["name"]
    return SegmentTrends(snapshots=info, sizes=table,
                         transitions=transitions.drop(columns=["position"]),
                         names=named.last().to_dict(), first_names=named.first().to_dict())


def evolution_view(store: Store, tracking: Tracking) -> EvolutionView | None:
    """Return the report's evolution section once the store holds two snapshots or more."""
    trends = load_trends(store)
    if len(trends.snapshots) < 2:
        return None
    sankey = (sankey_mermaid(tracking.previous, tracking.current, tracking.transitions)
              if tracking.previous is not None else None)
    return EvolutionView(sizes=trends.sizes, labels=tuple(trends.snapshots["label"]),
                         sankey=sankey, names=trends.names,
                         transitions=tuple((t.kind, t.detail) for t in tracking.transitions))
