"""How an update follows the segments, once ``update.update_store`` has decided which way.

Either the affected users are placed in the existing segments and the last snapshot is revised
by them, or every profile is clustered again in the store's space; either way the segment ids
come from matching the new snapshot to the last one. This module does the work and writes the
store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from interestlens.agent.encoder import ARTIFACT as ENCODER_ARTIFACT
from interestlens.agent.encoder import FusedEncoder
from interestlens.agent.evolution import (
    SEGMENT_MODEL,
    SegmentModel,
    Tracking,
    clustering_snapshot,
    data_time,
    previous_snapshot,
    stable_segment_ids,
    track,
    tracker_for,
)
from interestlens.agent.pipeline import Clock, fit_segmenter, name_segments, store_results
from interestlens.agent.pipeline import store_tables as write_tables
from interestlens.agent.settings import Settings
from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.errors import StoreError
from interestlens.tools.evidence import SEGMENT, user_interests
from interestlens.tools.evolve import SegmentSnapshot
from interestlens.tools.profile import Profiles, build_profiles
from interestlens.tools.records import (
    EVENT_ID,
    EVENT_TYPE,
    LANGUAGE,
    SENTIMENT,
    TEXT,
    TIMESTAMP,
    USER,
    Progress,
    Segment,
)
from interestlens.tools.sentiment import score_sentiment
from interestlens.tools.snapshots import revise_snapshot
from interestlens.tools.text import tokenize_many
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact

SEEN_TABLE = "seen_events"
NOVEL_CONFIDENCE = 0.5  # ProfileSegmenter.predict gives outlier-like rows a confidence below this


@dataclass(frozen=True)
class StoreState:
    """What the store holds before the update."""

    encoder: FusedEncoder
    model: SegmentModel
    events: pd.DataFrame
    users: pd.DataFrame
    segments: list[Segment]
    seen_ids: pd.Index

    @classmethod
    def load(cls, store: Store) -> StoreState:
        """Read what an update needs from ``store``; ``StoreError`` when it holds no run."""
        try:
            events, users = store.read_table("events"), store.read_table("users")
            segments = store.read_table("segments")["record"]
            encoder = load_artifact(store.path, ENCODER_ARTIFACT)
            model = load_artifact(store.path, SEGMENT_MODEL)
        except StoreError as err:
            raise StoreError(f"{store.path}: nothing to update ({err}); run `interestlens run` "
                             "into this store first") from err
        try:
            seen = store.read_table(SEEN_TABLE)[EVENT_ID]
        except StoreError:  # a store written before updates existed
            seen = events[EVENT_ID]
        users["is_novel"] = (users["is_novel"] if "is_novel" in users else False)
        users["is_novel"] = users["is_novel"].fillna(False).astype(bool)
        return cls(encoder=encoder, model=model, events=events, users=users,
                   segments=[Segment.model_validate_json(r) for r in segments],
                   seen_ids=pd.Index(seen.astype(str)))


@dataclass
class Batch:
    """The update's new events and what was computed about the users they touch."""

    events: pd.DataFrame  # all events: the store's, then the new ones
    n_new: int
    n_embedded: int  # of the new texts, those not in the embedding cache
    new_vectors: np.ndarray
    tokens: list[list[str]]  # of the affected users' events, in ``affected_rows`` order
    affected_rows: np.ndarray  # rows of ``events`` by affected users
    affected_vectors: np.ndarray
    profiles: Profiles  # of the affected users
    last_seen: pd.Series  # every user's newest event time
    now: pd.Timestamp


def prepare_batch(store: Store, state: StoreState, new: pd.DataFrame, settings: Settings,
                  clock: Clock, progress: Progress | None) -> Batch:
    """Featurise and embed the new events and rebuild the profiles of the users they touch."""
    new = new.reset_index(drop=True)
    with clock.stage("features"):
        languages = new[LANGUAGE].tolist()
        new_tokens = tokenize_many(new[TEXT].tolist(), languages, progress=progress)
        new[SENTIMENT] = score_sentiment(new[TEXT].tolist(), languages, progress=progress)
    with clock.stage("embed"):
        new_vectors, n_embedded = state.encoder.encode(new[TEXT].tolist(), store,
                                                       progress=progress, languages=languages)
    with clock.stage("profile"):
        events = pd.concat([state.events, new], ignore_index=True)
        affected = events[USER].astype(str).isin(set(new[USER].astype(str))).to_numpy()
        old_rows = np.flatnonzero(affected[: len(state.events)])
        old = state.events.iloc[old_rows]
        old_vectors = (store.get_vectors("events", old[EVENT_ID].tolist()) if len(old)
                       else np.empty((0, new_vectors.shape[1]), dtype=np.float32))
        tokens = tokenize_many(old[TEXT].tolist(), old[LANGUAGE].tolist()) + new_tokens
        rows = np.flatnonzero(affected)
        vectors = np.vstack([old_vectors, new_vectors])
        times = pd.to_datetime(events[TIMESTAMP], utc=True)
        now = times.max() if times.notna().any() else None
        profiles = build_profiles(events.iloc[rows], vectors,
                                  half_life_days=settings.half_life_days, now=now)
        last_seen = times.groupby(events[USER].astype(str)).max()
    return Batch(events=events, n_new=len(new), n_embedded=n_embedded,
                 new_vectors=new_vectors, tokens=tokens, affected_rows=rows,
                 affected_vectors=vectors, profiles=profiles, last_seen=last_seen,
                 now=data_time(last_seen))


def assign_users(state: StoreState, batch: Batch) -> pd.DataFrame:
    """Return the users table with the affected users placed in the existing segments."""
    rows, confidence = state.model.segmenter.predict(batch.profiles.matrix)
    ids = np.asarray(state.model.segment_ids, dtype=object)
    mine = batch.events.iloc[batch.affected_rows].assign(
        **{SEGMENT: lambda f: f[USER].astype(str).map(
            dict(zip(batch.profiles.user_ids, ids[rows])))})
    keywords = {s.segment_id: list(s.keywords) for s in state.segments}
    interests = user_interests(mine, batch.tokens, keywords)
    placed = pd.DataFrame({
        "user": batch.profiles.user_ids, "segment": ids[rows],
        "confidence": np.round(confidence, 4),
        "top_interests": [";".join(interests.get(u, [])) for u in batch.profiles.user_ids],
        "is_outlier": confidence < NOVEL_CONFIDENCE, "n_events": batch.profiles.n_events,
        "is_novel": confidence < NOVEL_CONFIDENCE,
    })
    kept = state.users[~state.users["user"].astype(str).isin(batch.profiles.user_ids)]
    users = pd.concat([kept, placed], ignore_index=True)
    return users.sort_values("user", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Outcome:
    """The segments after the update, as stored."""

    model: SegmentModel
    segments: list[Segment]
    users: pd.DataFrame
    events: pd.DataFrame  # with the segment column
    tracking: Tracking
    is_reclustered: bool


def revise_segments(store: Store, state: StoreState, batch: Batch, users: pd.DataFrame,
                    active: np.ndarray, settings: Settings, label: str) -> Tracking:
    """Revise the last snapshot by the users who changed or went quiet, and match it (no write).

    The segmentation is kept: the placed users are members of the segments they were given.
    """
    previous = previous_snapshot(store, space_id=state.model.space_id, user_ids=[],
                                 vectors=np.empty((0, 0)))
    is_active_user = dict(zip(users["user"].astype(str), active))
    segment_of = dict(zip(users["user"].astype(str), users["segment"]))
    if previous is None:  # a store from before snapshots: take one from every vector
        current = clustering_snapshot(label, batch.now, *_all_profiles(store, users, batch),
                                      active)
    else:
        current = _revised(store, previous, label, batch, segment_of, is_active_user)
    return track(store, tracker_for(settings), previous, current,
                 all_ids=state.model.segment_ids, are_stable=True)


def follow_segments(store: Store, state: StoreState, batch: Batch, users: pd.DataFrame,
                    tracking: Tracking, clock: Clock) -> Outcome:
    """Keep the segmentation under the ids of ``tracking`` and write what changed."""
    with clock.stage("segment"):
        mapping = tracking.mapping
        model = replace(state.model, segment_ids=tuple(mapping.get(s, s)
                                                       for s in state.model.segment_ids))
        users = users.assign(segment=users["segment"].map(lambda s: mapping.get(s, s)))
        events = batch.events.assign(**{SEGMENT: batch.events[USER].astype(str).map(
            dict(zip(users["user"].astype(str), users["segment"])))})
        segments = _refreshed(state.segments, mapping, users, events)
    with clock.stage("store"):
        write_tables(store, events, users, segments)
        _upsert_changed(store, state, batch, events, users, model, segments, mapping)
    return Outcome(model=model, segments=segments, users=users, events=events,
                   tracking=tracking, is_reclustered=False)


def _revised(store: Store, previous: SegmentSnapshot, label: str, batch: Batch,
             segment_of: dict[str, str], is_active_user: dict[str, bool]) -> SegmentSnapshot:
    """Return the previous snapshot revised by the affected users and those who went quiet."""
    affected = [str(u) for u in batch.profiles.user_ids]
    quiet = sorted(u for u in previous.users - set(affected) if not is_active_user.get(u, False))
    changed = affected + quiet
    targets = [segment_of[u] if is_active_user.get(u, True) else None for u in affected]
    targets += [None] * len(quiet)
    width = previous.centroids.shape[1] if len(previous.segment_ids) else batch.new_vectors.shape[1]
    vectors = np.vstack([batch.profiles.matrix, np.zeros((len(quiet), width))])
    was_member = [u for u in changed if u in previous.users]
    stored = dict(zip(was_member, store.get_vectors("users", was_member))) if was_member else {}
    old = np.array([stored.get(u, np.zeros(width)) for u in changed]).reshape(len(changed), width)
    return revise_snapshot(previous, label, batch.now, user_ids=changed, segment_ids=targets,
                           vectors=vectors, previous_vectors=old)


def _refreshed(segments: list[Segment], mapping: dict[str, str], users: pd.DataFrame,
               events: pd.DataFrame) -> list[Segment]:
    """Return the segment records under their stable ids with sizes, shares and sentiment now."""
    sizes = users.groupby("segment").agg(n_users=("user", "size"),
                                         mean_confidence=("confidence", "mean"))
    stats = events.groupby(SEGMENT).agg(n_events=(TEXT, "size"), sentiment=(SENTIMENT, "mean"))
    refreshed = []
    for segment in segments:
        sid = mapping.get(segment.segment_id, segment.segment_id)
        n_users = int(sizes["n_users"].get(sid, 0))
        refreshed.append(segment.model_copy(update={
            "segment_id": sid, "n_users": n_users, "share": n_users / max(len(users), 1),
            "n_events": int(stats["n_events"].get(sid, 0)),
            "sentiment": float(stats["sentiment"].get(sid, segment.sentiment)),
            "mean_confidence": float(sizes["mean_confidence"].get(sid, 0.0))}))
    return refreshed


def _upsert_changed(store: Store, state: StoreState, batch: Batch, events: pd.DataFrame,
                    users: pd.DataFrame, model: SegmentModel, segments: list[Segment],
                    mapping: dict[str, str]) -> None:
    """Upsert the vectors whose content or segment changed; only those."""
    renamed = {old for old, new in mapping.items() if old != new}
    moved = set(state.users.loc[state.users["segment"].isin(renamed), "user"].astype(str))
    moved -= set(batch.profiles.user_ids)
    rows = np.concatenate([batch.affected_rows, np.flatnonzero(
        events[USER].astype(str).isin(moved).to_numpy())]).astype(int)
    moved_rows = rows[len(batch.affected_rows):]
    event_vectors = np.vstack([batch.affected_vectors, store.get_vectors(
        "events", events[EVENT_ID].iloc[moved_rows].tolist())]) if len(moved_rows) else (
        batch.affected_vectors)
    part = events.iloc[rows]
    store.upsert_vectors("events", part[EVENT_ID].tolist(), event_vectors,
                         metadatas=part[[USER, EVENT_TYPE, LANGUAGE, SEGMENT]].to_dict("records"))
    user_ids = [*map(str, batch.profiles.user_ids), *sorted(moved)]
    user_vectors = np.vstack([batch.profiles.matrix, *(
        [store.get_vectors("users", sorted(moved))] if moved else [])])
    segment_of = dict(zip(users["user"].astype(str), users["segment"]))
    store.upsert_vectors("users", user_ids, user_vectors,
                         metadatas=[{"segment": segment_of[u]} for u in user_ids])
    if renamed:
        names = {s.segment_id: s.name for s in segments}
        store.upsert_vectors("segments", list(model.segment_ids), model.segmenter.centroids_,
                             metadatas=[{"name": names.get(s, "")} for s in model.segment_ids])
        store.delete_missing("segments", model.segment_ids)


def _all_profiles(store: Store, users: pd.DataFrame, batch: Batch) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Return every user's id, segment and profile vector (the affected users' new ones)."""
    user_ids = users["user"].astype(str).to_numpy()
    fresh = dict(zip(map(str, batch.profiles.user_ids), batch.profiles.matrix))
    stored = [u for u in user_ids if u not in fresh]
    vectors = dict(zip(stored, store.get_vectors("users", stored))) if stored else {}
    matrix = np.array([fresh[u] if u in fresh else vectors[u] for u in user_ids],
                      dtype=np.float32)
    return user_ids, users["segment"].to_numpy(), matrix


def recluster_segments(store: Store, state: StoreState, batch: Batch, placed: pd.DataFrame,
                       settings: Settings, label: str, clock: Clock,
                       progress: Progress | None) -> Outcome:
    """Cluster every profile again in the store's space and match the segments to the last ones."""
    with clock.stage("cluster"):
        user_ids, _, matrix = _all_profiles(store, placed, batch)
        n_events = batch.events.groupby(batch.events[USER].astype(str)).size()
        profiles = Profiles(user_ids=user_ids, matrix=matrix,
                            n_events=n_events.reindex(user_ids).to_numpy(),
                            last_seen=batch.last_seen.reindex(user_ids).rename("last_seen"))
        # the store's user ids are stable across updates: they pick the HDBSCAN sample
        clusterer = DensityClusterer(random_state=settings.random_state).fit(
            matrix, sample_keys=user_ids)
    with clock.stage("segment"):
        segmenter = fit_segmenter(matrix, clusterer.labels_, settings)
        segment_ids, tracking = stable_segment_ids(
            store, tracker_for(settings), profiles, segmenter.labels_, len(segmenter.centroids_),
            space_id=state.model.space_id, settings=settings, kind="update", label=label)
        events = batch.events.assign(**{SEGMENT: batch.events[USER].astype(str).map(
            dict(zip(user_ids, segment_ids[segmenter.labels_])))})
    with clock.stage("name"):
        old_vectors = store.get_vectors("events", state.events[EVENT_ID].tolist())
        event_vectors = np.vstack([old_vectors, batch.new_vectors])
        old_tokens = tokenize_many(state.events[TEXT].tolist(), state.events[LANGUAGE].tolist(),
                                   progress=progress)
        segments, _, _, users = name_segments(events, old_tokens + batch.tokens[-batch.n_new:],
                                              event_vectors,
                                              profiles, segmenter, segment_ids, settings,
                                              progress)
        users["is_novel"] = False
    with clock.stage("store"):
        store_results(store, events, event_vectors, users, matrix, segments,
                      segmenter.centroids_, progress)
    model = SegmentModel(clusterer, segmenter, tuple(segment_ids), state.model.space_id)
    return Outcome(model=model, segments=segments, users=users, events=events,
                   tracking=tracking, is_reclustered=True)
