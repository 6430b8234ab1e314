"""Incremental update: add new events to a store and follow the segments, without a full re-run.

Stages: ingest → keep the events the store has not seen (event ids hash the content, so a file
fed twice adds nothing) → clean → features → embed (new texts only, through the cache) →
profile the affected users (all their events, time-decayed) → assign them to the existing
segments with a confidence and flag the novel ones (farther from their nearest segment than
most of its members) → revise the last snapshot by them → re-cluster when the share of active
users that are novel, or in segments that drifted or spread out, passes
``Settings.recluster_drift`` (or on request) → match the segments to the last snapshot, so ids
stay stable → store → recommend for the affected users → record the snapshot.

Without re-clustering the text encoder, the clusterer and the segmenter of the last run are
reused as saved in the store, and only the affected users' rows and vectors are rewritten.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from interestlens.agent.evolution import (
    SEGMENT_MODEL,
    Tracking,
    activity_horizon,
    evolution_view,
    record,
    snapshot_label,
)
from interestlens.agent.incremental import (
    SEEN_TABLE,
    Batch,
    Outcome,
    StoreState,
    assign_users,
    follow_segments,
    prepare_batch,
    recluster_segments,
    revise_segments,
)
from interestlens.agent.pipeline import Clock
from interestlens.agent.recommender import StoreRecommender
from interestlens.agent.settings import Settings
from interestlens.tools import report
from interestlens.tools.clean import CleanResult, clean_events
from interestlens.tools.errors import ConfigError, StoreError
from interestlens.tools.evolve import Transition
from interestlens.tools.ingest import IngestResult, load_events
from interestlens.tools.records import (
    EVENT_ID,
    LANGUAGE,
    SENTIMENT,
    TEXT,
    USER,
    Progress,
    QuarantinedRow,
    Segment,
)
from interestlens.tools.snapshots import is_active
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import save_artifact

logger = logging.getLogger(__name__)

LOOSENING = frozenset({"drifted", "less_compact"})  # a segment that no longer fits its members


class UpdateSummary(BaseModel):
    """Counts and timings of one update; printed by the CLI."""

    model_config = ConfigDict(frozen=True)
    inputs: tuple[str, ...]
    n_input_rows: int
    n_known_events: int  # already in the store (or set aside by an earlier run): skipped
    n_new_events: int  # new events kept after cleaning
    n_quarantined: int
    n_embedded: int
    n_embedding_cache_hits: int
    n_users: int
    n_new_users: int
    n_changed_users: int  # users already in the store who had new events
    n_novel_users: int  # of the new and changed users, those far from every segment
    n_active_users: int
    drift: float  # share of active users that are novel or in a drifted or spread segment
    is_reclustered: bool
    recluster_reason: str
    n_segments: int
    transitions: dict[str, int]
    snapshot_id: int | None
    stage_seconds: dict[str, float]
    total_seconds: float
    out_dir: str | None = None
    store_dir: str


@dataclass(frozen=True)
class UpdateResult:
    """The result of ``Assistant.update``: summary, segments, users and the transitions found."""

    summary: UpdateSummary
    segments: list[Segment]
    users: pd.DataFrame
    transitions: tuple[Transition, ...] = ()
    output_files: dict[str, Path] = field(default_factory=dict)
    quarantine: tuple[QuarantinedRow, ...] = ()  # the input rows this update set aside


def update_store(
    inputs: Sequence[Path | str] | pd.DataFrame | IngestResult,
    *,
    store: Store,
    settings: Settings,
    out_dir: Path | None = None,
    column_map: Mapping[str, str] | None = None,
    recluster: bool = False,
    label: str | None = None,
    progress: Progress | None = None,
) -> UpdateResult:
    """Add the new events of ``inputs`` to ``store`` and follow the segments.

    Args:
        inputs: Files, folders, a DataFrame, or events ingested already (a replay window).
        store: The open store of an earlier run.
        settings: Settings; ``half_life_days`` and ``recluster_drift`` matter here.
        out_dir: Folder for the outputs and report; none written when None.
        column_map: Column roles, as for a run.
        recluster: Re-cluster whatever the drift.
        label: Name of the snapshot (default ``"update <n>"``).
        progress: Called as ``progress(label, done, total)``.

    Raises:
        StoreError: The store holds no run to update.
        ConfigError: Document-mode input without an id column (row numbers of a new file would
            collide with the store's users).
    """
    clock, started = Clock(), time.perf_counter()
    state, fresh, cleaned, counts, quarantine = _new_events(inputs, store, column_map, clock,
                                                            progress)
    seen = state.seen_ids.append(pd.Index(fresh[EVENT_ID].astype(str)))
    if cleaned is None or cleaned.events.empty:
        if len(fresh):  # all set aside: remembered, so feeding them again is a no-op
            _save_seen(store, seen)
        if recluster:
            logger.warning("no new events: nothing to re-cluster (--recluster needs new events)")
        return _unchanged(state, counts, quarantine, clock, started, store, out_dir)

    batch = prepare_batch(store, state, cleaned.events, settings, clock, progress)
    label = label or snapshot_label(store, "update")
    with clock.stage("segment"):
        users = assign_users(state, batch)
        active = is_active(batch.last_seen.reindex(users["user"]).to_numpy(), batch.now,
                           activity_horizon(settings))
        tracking = revise_segments(store, state, batch, users, active, settings, label)
        drift, reason = _drift(users, active, tracking, settings)
    reason = "requested" if recluster else reason
    if reason:
        logger.info("re-clustering: %s", reason)
        outcome = recluster_segments(store, state, batch, users, settings, label, clock, progress)
    else:
        outcome = follow_segments(store, state, batch, users, tracking, clock)
    with clock.stage("recommend"):
        _recommend(store, outcome, batch, settings)
    save_artifact(store.path, SEGMENT_MODEL, outcome.model)
    _save_seen(store, seen)  # only now: a failed update can be run again
    summary = UpdateSummary(
        **counts, **_user_counts(state, batch, users, active), n_new_events=batch.n_new,
        n_quarantined=len(quarantine), n_embedded=batch.n_embedded,
        n_embedding_cache_hits=batch.n_new - batch.n_embedded, drift=round(drift, 4),
        is_reclustered=bool(reason), recluster_reason=reason, n_segments=len(outcome.segments),
        transitions=dict(Counter(t.kind for t in outcome.tracking.transitions)),
        snapshot_id=None, stage_seconds=clock.seconds, total_seconds=0.0,
        out_dir=str(out_dir) if out_dir else None, store_dir=str(store.path))
    snapshot_id = record(store, outcome.tracking, kind="update", space_id=outcome.model.space_id,
                         is_reclustered=bool(reason),
                         names={s.segment_id: s.name for s in outcome.segments},
                         summary=summary.model_dump(include={"n_new_events", "n_users"}))
    files = {}
    if out_dir is not None:
        with clock.stage("report"):
            files = _write_outputs(store, out_dir, outcome, quarantine, settings,
                                   summary.model_dump(exclude={"stage_seconds"}))
    summary = summary.model_copy(update={
        "snapshot_id": snapshot_id, "stage_seconds": clock.seconds,
        "total_seconds": round(time.perf_counter() - started, 2)})
    return UpdateResult(summary=summary, segments=outcome.segments, users=outcome.users,
                        transitions=outcome.tracking.transitions, output_files=files,
                        quarantine=tuple(quarantine))


def _new_events(inputs: Sequence[Path | str] | pd.DataFrame | IngestResult, store: Store,
                column_map: Mapping[str, str] | None, clock: Clock, progress: Progress | None,
                ) -> tuple[StoreState, pd.DataFrame, CleanResult | None, dict,
                           list[QuarantinedRow]]:
    """Ingest ``inputs`` and clean the events the store has not seen.

    Returns:
        The store's state, the unseen events, them cleaned (None when there is none), the
        input counts and the quarantined rows.
    """
    with clock.stage("ingest"):
        ingested = (inputs if isinstance(inputs, IngestResult)
                    else _load(inputs, column_map, progress))
        state = StoreState.load(store)
        is_new = ~ingested.events[EVENT_ID].astype(str).isin(state.seen_ids).to_numpy()
        fresh = ingested.events[is_new].reset_index(drop=True)
    counts = {"inputs": tuple(s.source for s in ingested.sources),
              "n_input_rows": ingested.n_input_rows, "n_known_events": int((~is_new).sum())}
    cleaned = None
    if len(fresh):
        with clock.stage("clean"):
            cleaned = clean_events(fresh, document_mode=ingested.is_document_mode,
                                   earlier=_same_scope(state.events, fresh,
                                                       ingested.is_document_mode),
                                   progress=progress)
    quarantine = [*ingested.quarantine, *(cleaned.quarantine if cleaned else [])]
    return state, fresh, cleaned, counts, quarantine


def _same_scope(stored: pd.DataFrame, fresh: pd.DataFrame, is_document_mode: bool,
                ) -> pd.DataFrame:
    """Return the stored events a new one may duplicate: all in document mode, else its users'."""
    return stored if is_document_mode else stored[
        stored[USER].astype(str).isin(set(fresh[USER].astype(str)))]


def _drift(users: pd.DataFrame, active: np.ndarray, tracking: Tracking,
           settings: Settings) -> tuple[float, str]:
    """Return how far the segmentation drifted, and why it must be re-clustered ("" if not).

    Drift is the larger of two shares of the active users: those who are novel (far from every
    segment), and those in a segment whose centroid drifted or whose members spread out (as the
    revised snapshot shows): a segment coming apart shows as the latter before its members
    become novel.
    """
    n_active = max(int(active.sum()), 1)
    novel = float((users["is_novel"].to_numpy() & active).sum() / n_active)
    loose = {sid for t in tracking.transitions if t.kind in LOOSENING for sid in t.target_ids}
    spread = sum(tracking.current.size(sid) for sid in loose) / n_active
    drift = max(novel, spread)
    if drift <= settings.recluster_drift:
        return drift, ""
    if novel >= spread:
        return drift, f"novel users {novel:.2f} > {settings.recluster_drift}"
    noun = "segment" if len(loose) == 1 else "segments"
    return drift, (f"{noun} {', '.join(sorted(loose))} drifted or spread out, holding "
                   f"{spread:.2f} > {settings.recluster_drift} of the active users")


def _user_counts(state: StoreState, batch: Batch, users: pd.DataFrame,
                 active: np.ndarray) -> dict[str, int]:
    """Return the summary's user counts."""
    affected = users["user"].isin(batch.profiles.user_ids).to_numpy()
    n_new = int((~pd.Index(batch.profiles.user_ids).isin(state.users["user"])).sum())
    return {"n_users": len(users), "n_new_users": n_new,
            "n_changed_users": len(batch.profiles.user_ids) - n_new,
            "n_novel_users": int(users["is_novel"].to_numpy()[affected].sum()),
            "n_active_users": int(active.sum())}


def _load(inputs: Sequence[Path | str] | pd.DataFrame, column_map: Mapping[str, str] | None,
          progress: Progress | None) -> IngestResult:
    """Ingest the update's files; refuse document-mode files whose rows have no id column."""
    ingested = load_events(inputs, column_map=column_map, progress=progress)
    if ingested.is_document_mode and any(s.roles.row_id is None for s in ingested.sources):
        source = next(s.source for s in ingested.sources if s.roles.row_id is None)
        raise ConfigError(f"{source}: no user and no id column; row numbers of a new file would "
                          "collide with the store's rows: give an id column (--map id=COLUMN)")
    return ingested


def _recommend(store: Store, outcome: Outcome, batch: Batch, settings: Settings) -> None:
    """Recommend again for the affected users (for everyone after a re-clustering)."""
    users = outcome.users
    interests = {u: str(t or "").split(";") for u, t in zip(users["user"], users["top_interests"])}
    interests |= {s.segment_id: list(s.keywords[:5]) for s in outcome.segments}
    recommender = StoreRecommender.from_store(store, interests)
    owners = (users["user"].astype(str).tolist() if outcome.is_reclustered
              else [str(u) for u in batch.profiles.user_ids])
    vectors = store.get_vectors("users", owners)
    ranked = recommender.rank(owners, vectors, settings.recommendations_per_user)
    try:
        kept = store.read_table("recommendations")
        kept = kept[~kept["user"].astype(str).isin(owners)]
    except StoreError:
        kept = ranked.iloc[:0]
    store.write_table("recommendations", pd.concat([kept, ranked], ignore_index=True), key=None)


def _save_seen(store: Store, ids: pd.Index) -> None:
    """Remember every event id ingested so far (kept or set aside)."""
    store.write_table(SEEN_TABLE, pd.DataFrame({EVENT_ID: ids.unique()}), key=None)


def _unchanged(state: StoreState, counts: dict, quarantine: list[QuarantinedRow], clock: Clock,
               started: float, store: Store, out_dir: Path | None) -> UpdateResult:
    """Return the result of an update that found no new event: nothing changed in the store.

    With ``out_dir``, only ``quarantine.csv`` is written there (the rows set aside, if any).
    """
    files = ({"quarantine": report.write_quarantine(Path(out_dir), quarantine)}
             if out_dir is not None else {})
    summary = UpdateSummary(
        **counts, n_new_events=0, n_quarantined=len(quarantine), n_embedded=0,
        n_embedding_cache_hits=0, n_users=len(state.users), n_new_users=0, n_changed_users=0,
        n_novel_users=0, n_active_users=0, drift=0.0, is_reclustered=False, recluster_reason="",
        n_segments=len(state.segments), transitions={}, snapshot_id=None,
        stage_seconds=clock.seconds, total_seconds=round(time.perf_counter() - started, 2),
        out_dir=str(out_dir) if out_dir else None, store_dir=str(store.path))
    return UpdateResult(summary=summary, segments=state.segments, users=state.users,
                        output_files=files, quarantine=tuple(quarantine))


def _write_outputs(store: Store, out_dir: Path, outcome: Outcome,
                   quarantine: list[QuarantinedRow], settings: Settings,
                   summary: dict) -> dict[str, Path]:
    """Write the run outputs for the store after the update (quarantine: this update's rows)."""
    users = outcome.users
    vectors = store.get_vectors("users", users["user"].astype(str).tolist())
    index, coords = report.project_2d(vectors, random_state=settings.random_state)
    return report.write_outputs(
        out_dir, segments=outcome.segments, users=users,
        events=outcome.events[[EVENT_ID, USER, LANGUAGE, SENTIMENT, TEXT]],
        recommendations=store.read_table("recommendations"), quarantine=quarantine,
        map_coords=coords, map_segments=users["segment"].to_numpy()[index], summary=summary,
        evolution=evolution_view(store, outcome.tracking))
