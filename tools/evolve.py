"""Segment evolution: match two snapshots' segments, classify the transitions, keep ids stable.

Follows MONIC (Spiliopoulou, Ntoutsi, Theodoridis & Schult, KDD 2006). For a segment X of the
previous snapshot and a segment Y of the current one:

* ``overlap(X, Y) = |X ∩ Y| / |X ∩ U|``, U being the users in any current segment. MONIC weighs
  each member by an age function taken at the new time; a user absent from the current snapshot
  has aged out (weight 0), so it leaves the denominator too.
* X *matches* Y when ``overlap(X, Y) >= survival_threshold`` and no other Y overlaps X more (ties:
  higher centroid cosine). When fewer than ``min(min_shared_users, |X|)`` of X's members, or less
  than ``min_shared_share`` of them, are still present, overlap says nothing (in a community
  whose users come and go, a few returning members decide nothing): X then matches the current
  segment with the most similar centroid, if that cosine reaches ``centroid_match_threshold``.
* External transitions, one per previous segment; every current segment is reached by one:

  - survived: X matches Y and no other previous segment does; Y keeps X's id.
  - merged (MONIC's absorption): X1..Xn (n >= 2) all match Y; Y gets a fresh id.
  - split: X matches nothing, ``overlap(X, Yi) >= split_threshold`` for each of Y1..Yn and the
    overlaps sum to at least ``survival_threshold`` (so n >= 2). Children not named by a survival
    or merge become ``<X>.1``, ``<X>.2``, ... by decreasing overlap. A segment matched by centroid
    never splits (its members say nothing).
  - died: X neither survives, merges nor splits.
  - born: Y is the target of no match and the child of no split; Y gets a fresh id.

* Internal transitions of a survivor X -> Y, beside "survived": grew / shrank when
  ``|Y| / |X| - 1`` passes ± growth_threshold; drifted when the centroid cosine is below
  drift_threshold; more_compact / less_compact when the spread (members' mean cosine distance to
  the centroid) changes by more than ± compactness_threshold, relatively.

Fresh ids are ``S<n>``, n one more than the largest number of any id seen so far (the tracker's
history plus ``known_ids``), so no id is ever reused, not even a dead segment's.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.base import BaseEstimator

from interestlens.tools.cluster import normalise_rows

logger = logging.getLogger(__name__)

TransitionKind = Literal["survived", "grew", "shrank", "drifted", "more_compact", "less_compact",
                         "split", "merged", "born", "died"]
TRANSITION_KINDS: tuple[str, ...] = get_args(TransitionKind)
ID_PREFIX = "S"  # fresh ids are ID_PREFIX + number, as the pipeline names its segments
_ID_NUMBER = re.compile(rf"^{ID_PREFIX}(\d+)")
_MIN_SPREAD = 1e-3  # spreads below this count as this when their relative change is taken


@dataclass(frozen=True, eq=False)
class SegmentSnapshot:
    """The segments of one run or update: who is in each, and where each lies.

    Attributes:
        snapshot_id: Name of the snapshot (e.g. a run id).
        taken_at: When it was taken; tz-aware, stored in UTC.
        segment_ids: Segment ids, in the row order of ``centroids`` and ``spreads``.
        members: Segment id -> its member user ids; a user is in one segment at most.
        centroids: ``(n_segments, d)`` read-only unit rows: each segment's normalised mean of its
            members' normalised vectors.
        spreads: Read-only ``(n_segments,)`` mean cosine distance of members to their centroid.
    """

    snapshot_id: str
    taken_at: datetime
    segment_ids: tuple[str, ...]
    members: Mapping[str, frozenset[str]]
    centroids: np.ndarray
    spreads: np.ndarray

    def __post_init__(self):
        ids = tuple(str(s) for s in self.segment_ids)
        if len(set(ids)) != len(ids) or set(ids) != set(self.members):
            raise ValueError("segment_ids must be unique and be the keys of members")
        members = {sid: frozenset(str(u) for u in self.members[sid]) for sid in ids}
        centroids = np.array(self.centroids, dtype=np.float64)
        spreads = np.array(self.spreads, dtype=np.float64)
        taken_at = pd.Timestamp(self.taken_at)
        if sum(map(len, members.values())) != len(frozenset().union(*members.values())):
            raise ValueError("a user is a member of more than one segment")
        if centroids.ndim != 2 or len(centroids) != len(ids) or spreads.shape != (len(ids),):
            raise ValueError(f"centroids {centroids.shape} and spreads {spreads.shape} must have "
                             f"one row per segment ({len(ids)})")
        if taken_at.tzinfo is None:
            raise ValueError("taken_at must be timezone-aware")
        centroids.flags.writeable = spreads.flags.writeable = False
        for name, value in (("segment_ids", ids), ("members", MappingProxyType(members)),
                            ("centroids", centroids), ("spreads", spreads),
                            ("taken_at", taken_at.tz_convert("UTC"))):
            object.__setattr__(self, name, value)

    def size(self, segment_id: str) -> int:
        """Return the number of members of one segment."""
        return len(self.members[segment_id])

    @property
    def users(self) -> frozenset[str]:
        """Return every user in any segment."""
        return frozenset().union(*self.members.values())


class Transition(BaseModel):
    """One change between two snapshots: a MONIC external or internal transition.

    ``source_ids`` are previous (stable) ids, ``target_ids`` stable current ids. ``overlap`` and
    ``centroid_similarity`` are, for survived and the internal kinds, ``overlap(X, Y)`` and the
    centroid cosine; for split, the summed overlap of X with its children and the cosine of X to
    their size-weighted centroid; for merged, the share of the sources' present members in Y and
    the cosine of the sources' size-weighted centroid to Y; for died and born, the best overlap
    and cosine with any segment of the other snapshot (how near it came to a match).
    """

    model_config = ConfigDict(frozen=True)
    kind: TransitionKind
    source_ids: tuple[str, ...]
    target_ids: tuple[str, ...]
    overlap: float
    centroid_similarity: float
    detail: str


def snapshot_from_labels(snapshot_id: str, taken_at: datetime, user_ids: Sequence[str],
                         segment_labels: Sequence[int | str] | np.ndarray,
                         vectors: np.ndarray) -> SegmentSnapshot:
    """Build a snapshot from each user's segment label and profile vector.

    Args:
        snapshot_id: Name of the snapshot.
        taken_at: When it was taken (tz-aware).
        user_ids: One distinct id per row.
        segment_labels: Segment of each row: a str id, or an int label ``k`` named ``S{k+1}`` as
            the pipeline does; a negative int (density noise) puts the row in no segment.
        vectors: ``(n_rows, d)`` profile vectors.

    Raises:
        ValueError: The lengths differ or a user id repeats.
    """
    users = np.asarray(user_ids).astype(str)
    labels = np.array([_segment_id(label) for label in segment_labels], dtype=object)
    unit = normalise_rows(np.asarray(vectors, dtype=np.float64))
    if unit.ndim != 2 or not len(users) == len(labels) == len(unit):
        raise ValueError(f"{len(users)} users, {len(labels)} labels and vectors of shape "
                         f"{unit.shape} do not line up")
    if len(np.unique(users)) != len(users):
        raise ValueError("user ids are not unique")
    ids = sorted({label for label in labels if label is not None}, key=natural_key)
    members, centroids, spreads = {}, np.zeros((len(ids), unit.shape[1])), np.zeros(len(ids))
    for row, sid in enumerate(ids):
        is_member = labels == sid
        members[sid] = frozenset(users[is_member].tolist())
        centroids[row] = normalise_rows(unit[is_member].mean(axis=0, keepdims=True))[0]
        spreads[row] = float(np.mean(1.0 - unit[is_member] @ centroids[row]))
    return SegmentSnapshot(snapshot_id=snapshot_id, taken_at=taken_at, segment_ids=tuple(ids),
                           members=members, centroids=centroids, spreads=spreads)


def rename_segments(snapshot: SegmentSnapshot, mapping: Mapping[str, str]) -> SegmentSnapshot:
    """Return ``snapshot`` with its segments renamed by ``mapping`` (ids not in it are kept).

    Raises:
        ValueError: Two segments would get the same id.
    """
    names = [mapping.get(sid, sid) for sid in snapshot.segment_ids]
    order = sorted(range(len(names)), key=lambda row: natural_key(names[row]))
    return SegmentSnapshot(
        snapshot_id=snapshot.snapshot_id, taken_at=snapshot.taken_at,
        segment_ids=tuple(names[row] for row in order),
        members={names[row]: snapshot.members[snapshot.segment_ids[row]] for row in order},
        centroids=snapshot.centroids[order], spreads=snapshot.spreads[order])


@dataclass(frozen=True)
class _Comparison:
    """Two snapshots side by side: overlaps, centroid cosines, and how each X is matched."""

    previous: SegmentSnapshot
    current: SegmentSnapshot
    overlap: np.ndarray  # (n_previous, n_current) MONIC overlap
    similarity: np.ndarray  # (n_previous, n_current) centroid cosine
    shared: np.ndarray  # members of each X still in a current segment
    by_centroid: np.ndarray  # X matched by centroid: too few members still present


class SegmentTracker(BaseEstimator):
    """Match segments across snapshots (MONIC), classify transitions, and keep ids stable.

    Args:
        survival_threshold: MONIC τ: least overlap for X to match Y.
        split_threshold: MONIC τ_split: least overlap of X with each split child.
        growth_threshold: Relative size change beyond which a survivor grew or shrank.
        drift_threshold: A survivor whose centroid cosine is below this drifted.
        compactness_threshold: Relative spread change beyond which a survivor became more or
            less compact.
        centroid_match_threshold: Least centroid cosine for a match by centroid.
        min_shared_users: X is matched by members when at least this many of them (or all, if
            fewer) are still present, else by centroid.
        min_shared_share: ... and when at least this share of them is still present.

    Attributes:
        mapping_: Last ``match``: current segment id -> stable id.
        transitions_: Last ``match``: the transitions, external ones first.
        renamed_: Last ``match``: the current snapshot under its stable ids.
        seen_ids_: Every id seen or issued, accumulated over all ``match`` calls (so a fresh id
            is never an old one); start a new history with a new tracker (``sklearn.clone``).
        snapshots_: Last ``track``: every snapshot under its stable ids.
    """

    def __init__(self, survival_threshold: float = 0.7, split_threshold: float = 0.3,
                 growth_threshold: float = 0.2, drift_threshold: float = 0.9,
                 compactness_threshold: float = 0.2, centroid_match_threshold: float = 0.8,
                 min_shared_users: int = 5, min_shared_share: float = 0.25):
        self.survival_threshold = survival_threshold
        self.split_threshold = split_threshold
        self.growth_threshold = growth_threshold
        self.drift_threshold = drift_threshold
        self.compactness_threshold = compactness_threshold
        self.centroid_match_threshold = centroid_match_threshold
        self.min_shared_users = min_shared_users
        self.min_shared_share = min_shared_share

    def match(self, previous: SegmentSnapshot, current: SegmentSnapshot, *,
              known_ids: Iterable[str] = ()) -> tuple[dict[str, str], list[Transition]]:
        """Match ``current``'s segments to ``previous``'s and classify what happened.

        Args:
            previous: The earlier snapshot, under stable ids.
            current: The new snapshot, under any ids.
            known_ids: Ids issued before that may be in neither snapshot (e.g. every id in the
                store), so that fresh ids skip them.

        Returns:
            ``(mapping, transitions)``: current id -> stable id for every current segment, and
            the transitions (``renamed_`` holds ``current`` under the stable ids).
        """
        cmp = self._compare(previous, current)
        targets = self._targets(cmp)
        splits = self._splits(cmp, targets)
        seen = set(getattr(self, "seen_ids_", ())) | set(known_ids) | set(previous.segment_ids)
        names = _assign_ids(cmp, targets, splits, seen)
        transitions = self._external(cmp, targets, splits, names)
        transitions += [t for row, col in enumerate(targets)
                        if col is not None and targets.count(col) == 1
                        for t in self._internal(cmp, row, col, names)]
        self.mapping_ = {current.segment_ids[col]: name for col, name in sorted(names.items())}
        self.transitions_ = sorted(transitions, key=lambda t: _KIND_RANK[t.kind])
        self.renamed_ = rename_segments(current, self.mapping_)
        self.seen_ids_ = frozenset(seen | set(names.values()))
        logger.info("%s -> %s: %s", previous.snapshot_id, current.snapshot_id,
                    dict(Counter(t.kind for t in self.transitions_)))
        return dict(self.mapping_), list(self.transitions_)

    def track(self, snapshots: Sequence[SegmentSnapshot]) -> list[list[Transition]]:
        """Match each snapshot to the one before it; return the transitions of each step.

        The first snapshot's ids are taken as stable; ``snapshots_`` holds all of them renamed.
        """
        renamed = list(snapshots[:1])
        history = []
        for current in snapshots[1:]:
            history.append(self.match(renamed[-1], current)[1])
            renamed.append(self.renamed_)
        self.snapshots_ = renamed
        return history

    def _compare(self, previous: SegmentSnapshot, current: SegmentSnapshot) -> _Comparison:
        """Return the overlap and cosine matrices of two snapshots."""
        if len(previous.segment_ids) and len(current.segment_ids) and (
                previous.centroids.shape[1] != current.centroids.shape[1]):
            raise ValueError(f"centroids of {previous.snapshot_id} and {current.snapshot_id} "
                             "have different dimensions")
        where = {user: col for col, sid in enumerate(current.segment_ids)
                 for user in current.members[sid]}
        overlap = np.zeros((len(previous.segment_ids), len(current.segment_ids)))
        shared = np.zeros(len(previous.segment_ids), dtype=np.int64)
        for row, sid in enumerate(previous.segment_ids):
            counts = Counter(where[u] for u in previous.members[sid] if u in where)
            shared[row] = sum(counts.values())
            for col, n in counts.items():
                overlap[row, col] = n / shared[row]
        similarity = (previous.centroids @ current.centroids.T if overlap.size
                      else np.zeros(overlap.shape))
        sizes = np.array([previous.size(sid) for sid in previous.segment_ids])
        by_centroid = shared < np.maximum(np.minimum(self.min_shared_users, sizes),
                                          self.min_shared_share * sizes)
        return _Comparison(previous, current, overlap, similarity, shared, by_centroid)

    def _targets(self, cmp: _Comparison) -> list[int | None]:
        """Return the current segment each previous segment matches, or None."""
        targets = []
        for row in range(len(cmp.overlap)):
            similarity = cmp.similarity[row]
            if not len(similarity):
                targets.append(None)
            elif cmp.by_centroid[row]:
                col = int(np.argmax(similarity))
                targets.append(col if similarity[col] >= self.centroid_match_threshold else None)
            else:  # the largest overlap; among equal ones, the most similar centroid
                overlap = cmp.overlap[row]
                col = int(np.argmax(np.where(np.isclose(overlap, overlap.max()), similarity,
                                             -np.inf)))
                targets.append(col if overlap[col] >= self.survival_threshold else None)
        return targets

    def _splits(self, cmp: _Comparison, targets: list[int | None]) -> dict[int, list[int]]:
        """Return previous row -> its split children (by decreasing overlap), for each split."""
        splits = {}
        for row, col in enumerate(targets):
            if col is not None or cmp.by_centroid[row]:
                continue
            children = np.flatnonzero(cmp.overlap[row] >= self.split_threshold)
            if len(children) >= 2 and cmp.overlap[row, children].sum() >= self.survival_threshold:
                splits[row] = sorted(children.tolist(), key=lambda c: (
                    -cmp.overlap[row, c], _size_then_first_member(cmp.current, c)))
        return splits

    def _external(self, cmp: _Comparison, targets: list[int | None],
                  splits: dict[int, list[int]], names: dict[int, str]) -> list[Transition]:
        """Return the survived, merged, split, died and born transitions."""
        prev_ids, cur_ids, out = cmp.previous.segment_ids, cmp.current.segment_ids, []
        for col in sorted(set(targets) - {None}, key=lambda c: natural_key(names[c])):
            rows = [row for row, target in enumerate(targets) if target == col]
            if len(rows) > 1:
                parts = ", ".join(f"{prev_ids[r]} ({cmp.overlap[r, col]:.0%})" for r in rows)
                detail = f"{parts} merged into {names[col]}"
            elif cmp.by_centroid[rows[0]]:
                detail = (f"{prev_ids[rows[0]]} -> {names[col]}: matched by centroid, "
                          f"{cmp.shared[rows[0]]} of {cmp.previous.size(prev_ids[rows[0]])} "
                          "members present")
            else:
                detail = (f"{prev_ids[rows[0]]} -> {names[col]}: {cmp.overlap[rows[0], col]:.0%}"
                          f" of {cmp.shared[rows[0]]} present members kept")
            out.append(_transition("merged" if len(rows) > 1 else "survived", cmp, rows, [col],
                                   names, detail))
        for row, children in splits.items():
            parts = ", ".join(f"{names[c]} ({cmp.overlap[row, c]:.0%})" for c in children)
            out.append(_transition("split", cmp, [row], children, names,
                                   f"{prev_ids[row]} split into {parts}"))
        for row in range(len(prev_ids)):
            if targets[row] is None and row not in splits:
                out.append(_boundary("died", cmp.overlap[row], cmp.similarity[row],
                                     (prev_ids[row],), (), f"{prev_ids[row]} died"))
        reached = set(targets) | {c for children in splits.values() for c in children}
        for col in sorted(set(range(len(cur_ids))) - reached, key=lambda c: natural_key(names[c])):
            n_new = len(cmp.current.members[cur_ids[col]] - cmp.previous.users)
            out.append(_boundary("born", cmp.overlap[:, col], cmp.similarity[:, col], (),
                                 (names[col],), f"{names[col]} born ({n_new} new users)"))
        return out

    def _internal(self, cmp: _Comparison, row: int, col: int,
                  names: dict[int, str]) -> list[Transition]:
        """Return the size, location and compactness transitions of one survivor."""
        x = cmp.previous.segment_ids[row]
        size_x, size_y = cmp.previous.size(x), cmp.current.size(cmp.current.segment_ids[col])
        spread_x, spread_y = cmp.previous.spreads[row], cmp.current.spreads[col]
        growth = size_y / size_x - 1.0
        compaction = (spread_y - spread_x) / max(spread_x, _MIN_SPREAD)
        cosine = cmp.similarity[row, col]
        sizes = f"{x}: {size_x} -> {size_y} members ({growth:+.0%})"
        spreads = f"{x}: spread {spread_x:.3f} -> {spread_y:.3f} ({compaction:+.0%})"
        changes = [
            ("grew", growth > self.growth_threshold, sizes),
            ("shrank", growth < -self.growth_threshold, sizes),
            ("drifted", cosine < self.drift_threshold,
             f"{x}: centroid cosine {cosine:.2f} < {self.drift_threshold}"),
            ("more_compact", compaction < -self.compactness_threshold, spreads),
            ("less_compact", compaction > self.compactness_threshold, spreads),
        ]
        return [_transition(kind, cmp, [row], [col], names, detail)
                for kind, happened, detail in changes if happened]


_KIND_RANK = {kind: rank for rank, kind in enumerate(
    ("survived", "split", "merged", "died", "born", "grew", "shrank", "drifted", "more_compact",
     "less_compact"))}


def _assign_ids(cmp: _Comparison, targets: list[int | None], splits: dict[int, list[int]],
                seen: set[str]) -> dict[int, str]:
    """Return the stable id of each current segment (by column)."""
    names = {col: cmp.previous.segment_ids[row] for row, col in enumerate(targets)
             if col is not None and targets.count(col) == 1}
    matched = set(targets)
    for row, children in splits.items():
        parent, k = cmp.previous.segment_ids[row], 0
        for col in children:
            if col in names or col in matched:
                continue
            k += 1
            while f"{parent}.{k}" in seen:
                k += 1
            names[col] = f"{parent}.{k}"
    fresh = sorted((col for col in range(len(cmp.current.segment_ids)) if col not in names),
                   key=lambda c: _size_then_first_member(cmp.current, c))
    names.update(zip(fresh, fresh_ids(seen | set(names.values()), len(fresh))))
    return names


def fresh_ids(seen: Iterable[str], n: int) -> list[str]:
    """Return ``n`` new ids ``S<k>``, numbered after the largest ``S<number>`` in ``seen``."""
    numbers = [int(m.group(1)) for sid in seen if (m := _ID_NUMBER.match(sid))]
    start = max(numbers, default=0) + 1
    return [f"{ID_PREFIX}{number}" for number in range(start, start + n)]


def _transition(kind: TransitionKind, cmp: _Comparison, rows: list[int], cols: list[int],
                names: dict[int, str], detail: str) -> Transition:
    """Return a transition from previous ``rows`` to current ``cols``.

    Its overlap is the share of the rows' present members found in the columns (MONIC overlap
    of the rows' union), its cosine that between the two sides' size-weighted centroids.
    """
    shared = cmp.shared[rows]
    kept = cmp.overlap[np.ix_(rows, cols)].sum(axis=1) @ shared
    return Transition(kind=kind, source_ids=tuple(cmp.previous.segment_ids[r] for r in rows),
                      target_ids=tuple(names[c] for c in cols),
                      overlap=float(kept / max(shared.sum(), 1)),
                      centroid_similarity=float(_pooled(cmp.previous, rows)
                                                @ _pooled(cmp.current, cols)),
                      detail=detail)


def _boundary(kind: TransitionKind, overlaps: np.ndarray, similarities: np.ndarray,
              sources: tuple[str, ...], targets: tuple[str, ...], what: str) -> Transition:
    """Return a died or born transition with its best overlap and cosine across the snapshots."""
    overlap = float(overlaps.max(initial=0.0))
    cosine = float(similarities.max()) if len(similarities) else 0.0
    return Transition(kind=kind, source_ids=sources, target_ids=targets, overlap=overlap,
                      centroid_similarity=cosine,
                      detail=f"{what}: best overlap {overlap:.0%}, best cosine {cosine:.2f}")


def _pooled(snapshot: SegmentSnapshot, rows: list[int]) -> np.ndarray:
    """Return the normalised size-weighted mean of some segments' centroids."""
    sizes = np.array([snapshot.size(snapshot.segment_ids[r]) for r in rows], dtype=np.float64)
    return normalise_rows((sizes @ snapshot.centroids[rows])[None, :])[0]


def _size_then_first_member(snapshot: SegmentSnapshot, col: int) -> tuple[int, str]:
    """Return a sort key that orders segments whatever their labels: larger first."""
    members = snapshot.members[snapshot.segment_ids[col]]
    return -len(members), min(members, default="")


def _segment_id(label: int | str) -> str | None:
    """Return the segment id of a label: ``S{k+1}`` for an int k >= 0, None for noise."""
    if isinstance(label, (int, np.integer)):
        return f"{ID_PREFIX}{int(label) + 1}" if label >= 0 else None
    return str(label)


def natural_key(segment_id: str) -> tuple:
    """Return a sort key that puts S2 before S10 and S2.2 before S2.10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", segment_id) if part)


def sankey_mermaid(previous: SegmentSnapshot, current: SegmentSnapshot,
                   transitions: Sequence[Transition]) -> str:
    """Return a Mermaid ``sankey-beta`` diagram of the members flowing between two snapshots.

    Pass ``current`` under its stable ids (``SegmentTracker.renamed_``). Each node is
    ``"<segment id> (<snapshot id>)"`` (``before``/``after`` is appended to the snapshot ids when
    they are equal); members who left flow to ``"left (<previous>)"`` and new users come from
    ``"new users (<current>)"``. The transitions are listed as ``%%`` comments above the flows.
    """
    old, new = previous.snapshot_id, current.snapshot_id
    if old == new:  # else a segment would flow into itself
        old, new = f"{old} before", f"{new} after"

    def node(label: str, tag: str) -> str:
        text = " ".join(f"{label} ({tag})".split()).replace('"', '""')
        return f'"{text}"'

    where = {user: sid for sid in current.segment_ids for user in current.members[sid]}
    order = {sid: rank for rank, sid in enumerate(current.segment_ids)}
    lines = ["sankey-beta", ""]
    lines += [" ".join(f"%% {t.kind}: {', '.join(t.source_ids) or '-'} -> "
                       f"{', '.join(t.target_ids) or '-'}".split()) for t in transitions]
    for x in previous.segment_ids:
        flows = Counter(where.get(user) for user in previous.members[x])
        for y in sorted(flows, key=lambda sid: order.get(sid, len(order))):
            target = node(y, new) if y is not None else node("left", old)
            lines.append(f"{node(x, old)},{target},{flows[y]}")
    before = previous.users
    for y in current.segment_ids:
        n_new = len(current.members[y] - before)
        if n_new:
            lines.append(f"{node('new users', new)},{node(y, new)},{n_new}")
    return "\n".join(lines) + "\n"
