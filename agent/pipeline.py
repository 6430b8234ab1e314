"""The main job, top to bottom: which stages run, in what order, with which options."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from interestlens.agent.embeddings import is_openai_model, make_embedder
from interestlens.agent.encoder import ARTIFACT as ENCODER_ARTIFACT
from interestlens.agent.encoder import FusedEncoder
from interestlens.agent.evolution import (
    SEGMENT_MODEL,
    SegmentModel,
    evolution_view,
    record,
    space_of,
    stable_segment_ids,
    tracker_for,
)
from interestlens.agent.interests import label_interests, topic_table
from interestlens.agent.llm import LLMClient
from interestlens.agent.llm_naming import LLMNamer
from interestlens.agent.recommender import StoreRecommender
from interestlens.agent.results import RunResult, RunSummary
from interestlens.agent.settings import Settings
from interestlens.tools import report
from interestlens.tools.catalogue import load_catalogue, merge_catalogue
from interestlens.tools.clean import clean_events
from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.errors import InputError
from interestlens.tools.evidence import SEGMENT, segment_evidence, user_interests
from interestlens.tools.features import ClassTfidf, LexicalEncoder, TopicModel
from interestlens.tools.ingest import IngestResult, load_events
from interestlens.tools.name import ExtractiveNamer, SegmentNamer
from interestlens.tools.profile import Profiles, build_profiles, user_text_keys
from interestlens.tools.records import (
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    ITEM_TEXT,
    LANGUAGE,
    SENTIMENT,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    TIMESTAMP,
    USER,
    Progress,
    Segment,
)
from interestlens.tools.represent import lexical_weight_for
from interestlens.tools.segment import ProfileSegmenter
from interestlens.tools.sentiment import score_sentiment
from interestlens.tools.text import tokenize_many
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import save_artifact

logger = logging.getLogger(__name__)

N_KEYWORDS = 10


@dataclass
class Clock:
    """Seconds spent per stage, in pipeline order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time the block takes to stage ``name``."""
        start = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def run_pipeline(
    inputs: Sequence[Path | str] | pd.DataFrame | IngestResult,
    *,
    store: Store,
    settings: Settings,
    out_dir: Path | None = None,
    column_map: Mapping[str, str] | None = None,
    items: Path | str | None = None,
    items_map: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    snapshot_label: str | None = None,
    interest_labels: Sequence[str] | None = None,
) -> RunResult:
    """Run every stage on ``inputs`` and return the result.

    ``interest_labels`` (else ``settings.interests``) are scored as zero-shot labels for every
    user and segment (``tools.zeroshot``).

    ``items`` is an optional catalogue file (``tools.catalogue``, roles overridden by
    ``items_map``): the recommendable items with their text, categories and dates.

    Stages: ingest → clean → features → embed → profile → cluster → segment → name → store →
    recommend → report. ``inputs`` may also be events ingested already (a replay window). The
    segments are matched to the store's last snapshot, so their ids stay stable, and the run is
    recorded as a new snapshot.
    """
    clock, started = Clock(), time.perf_counter()
    with clock.stage("ingest"):
        ingested = (inputs if isinstance(inputs, IngestResult)
                    else load_events(inputs, column_map=column_map, progress=progress))
        catalogue_file = load_catalogue(items, column_map=items_map) if items is not None else None
        catalogue_quarantine = catalogue_file.quarantine if catalogue_file is not None else []
    with clock.stage("clean"):
        cleaned = clean_events(
            ingested.events, document_mode=ingested.is_document_mode, progress=progress
        )
    quarantine = [*ingested.quarantine, *cleaned.quarantine]
    events = cleaned.events.reset_index(drop=True)
    if events.empty:
        if out_dir is not None:
            report.write_quarantine(out_dir, quarantine)
        raise InputError(_input_label(inputs), f"no usable rows: all {ingested.n_input_rows} "
                         "input rows were quarantined (see quarantine.csv)")

    with clock.stage("features"):
        languages = events[LANGUAGE].tolist()
        tokens = tokenize_many(events[TEXT].tolist(), languages, progress=progress)
        language_share = events[LANGUAGE].value_counts(normalize=True).round(4).to_dict()
    with clock.stage("sentiment"):
        events[SENTIMENT] = score_sentiment(events[TEXT].tolist(), languages, progress=progress)
    with clock.stage("topics"):
        topic_model = TopicModel(random_state=settings.random_state)
        event_topics = topic_model.fit(tokens).transform(tokens)  # fit samples max_fit_docs

    with clock.stage("embed"):
        weight = (settings.lexical_weight if settings.lexical_weight is not None
                  else lexical_weight_for(language_share, neural_reads_chinese=is_openai_model(
                      settings.embedding_model)))
        encoder = FusedEncoder(settings.embedding_model, settings.embedding_batch_size,
                               LexicalEncoder(random_state=settings.random_state), weight)
        encoder.use_embedder(make_embedder(settings.embedding_model, settings))
        event_vectors, n_embedded = encoder.fit_encode(events[TEXT].tolist(), languages, store,
                                                       words=tokens, progress=progress)

    with clock.stage("profile"):
        profiles = build_profiles(events, event_vectors, half_life_days=settings.half_life_days)
    with clock.stage("cluster"):
        clusterer = DensityClusterer(random_state=settings.random_state).fit(
            profiles.matrix, sample_keys=user_text_keys(events, profiles.user_ids))
    with clock.stage("segment"):
        segmenter = fit_segmenter(profiles.matrix, clusterer.labels_, settings)
        space_id = space_of(encoder)
        segment_ids, tracking = stable_segment_ids(
            store, tracker_for(settings), profiles, segmenter.labels_, len(segmenter.centroids_),
            space_id=space_id, settings=settings, kind="run", label=snapshot_label)
        events[SEGMENT] = events[USER].map(dict(zip(profiles.user_ids,
                                                    segment_ids[segmenter.labels_])))

    with clock.stage("name"):
        segments, naming_mode, interests, users = name_segments(
            events, tokens, event_vectors, profiles, segmenter, segment_ids, settings, progress)
    with clock.stage("interests"):
        labels = settings.interests if interest_labels is None else interest_labels
        if labels:
            users, segments = label_interests(labels, encoder, store, profiles, segmenter,
                                              segment_ids, users, segments)
        user_topics = topic_table(events[USER].to_numpy(), event_topics, users)

    with clock.stage("store"):
        store_results(store, events, event_vectors, users, profiles.matrix, segments,
                      segmenter.centroids_, progress)
        save_artifact(store.path, ENCODER_ARTIFACT, encoder)  # only now: the vectors match it
        store.write_table("seen_events", ingested.events[[EVENT_ID]], key=None)
        store.write_table("user_topics", user_topics, key=None)
        save_artifact(store.path, SEGMENT_MODEL,
                      SegmentModel(clusterer, segmenter, tuple(segment_ids), space_id))

    with clock.stage("recommend"):
        catalogue = merge_catalogue(events, catalogue_file and catalogue_file.items)
        recommender = StoreRecommender(store, events, interests, catalogue=catalogue, tune=True,
                                       random_state=settings.random_state)
        recommender.index_items(encoder, progress)
        recommendations = recommender.rank(list(profiles.user_ids), profiles.matrix,
                                           settings.recommendations_per_user)
        store.write_table("recommendations", recommendations, key=None)
    record(store, tracking, kind="run", space_id=space_id, is_reclustered=True,
           names={s.segment_id: s.name for s in segments},
           summary={"n_kept": len(events), "n_users": len(profiles.user_ids)})

    summary = RunSummary(
        inputs=tuple(s.source for s in ingested.sources),
        n_input_rows=ingested.n_input_rows, n_kept=len(events), n_quarantined=len(quarantine),
        n_rejected_at_read=len(ingested.quarantine),
        n_exact_duplicates=cleaned.n_exact_duplicates,
        n_near_duplicates=cleaned.n_near_duplicates, n_noise=cleaned.n_noise,
        is_document_mode=ingested.is_document_mode, n_users=len(profiles.user_ids),
        n_segments=len(segments), n_clusters=int(clusterer.n_clusters_),
        n_outliers=int(segmenter.is_outlier_.sum()), n_embedded=n_embedded,
        n_embedding_cache_hits=len(events) - n_embedded,
        n_items=recommender.n_items, language_share=language_share,
        n_catalogue_rows=catalogue_file.n_rows if catalogue_file is not None else 0,
        n_catalogue_quarantined=len(catalogue_quarantine),
        lexical_weight=round(weight, 3), embedding_model=encoder.embedder.model_id,
        naming_mode=naming_mode,
        topics=tuple(tuple(words) for words in topic_model.topic_words_),
        stage_seconds=clock.seconds, total_seconds=0.0,
        out_dir=str(out_dir) if out_dir else None, store_dir=str(store.path),
        n_transitions=dict(Counter(t.kind for t in tracking.transitions)),
    )
    output_files: dict[str, Path] = {}
    if out_dir is not None:
        with clock.stage("report"):
            index, coords = report.project_2d(profiles.matrix, random_state=settings.random_state)
            output_files = report.write_outputs(
                out_dir, segments=segments, users=users,
                events=events[[EVENT_ID, USER, LANGUAGE, SENTIMENT, TEXT]],
                recommendations=recommendations,
                quarantine=[*quarantine, *catalogue_quarantine], map_coords=coords,
                map_segments=users["segment"].to_numpy()[index],
                evolution=evolution_view(store, tracking), user_topics=user_topics,
                summary=summary.model_dump() | {
                    "stage_seconds": clock.seconds,
                    "total_seconds": round(time.perf_counter() - started, 2)},
            )
    summary = summary.model_copy(update={
        "stage_seconds": clock.seconds,
        "total_seconds": round(time.perf_counter() - started, 2),
    })
    store.record_run(summary.model_dump(mode="json"))
    return RunResult(
        segments=segments, users=users, recommendations=recommendations, summary=summary,
        output_files=output_files, quarantine=tuple(quarantine),
        recommender=lambda user, k: recommender.for_owner(
            user, profiles.matrix[np.searchsorted(profiles.user_ids, user)], k),
    )


def fit_segmenter(matrix: np.ndarray, cluster_labels: np.ndarray,
                  settings: Settings) -> ProfileSegmenter:
    """Return the segmenter fitted on the profiles and their density clusters."""
    segmenter = ProfileSegmenter(min_segment_size=settings.min_segment_users,
                                 random_state=settings.random_state)
    return segmenter.fit(matrix, cluster_labels)


def name_segments(events: pd.DataFrame, tokens: list[list[str]], event_vectors: np.ndarray,
                  profiles: Profiles, segmenter: ProfileSegmenter, segment_ids: np.ndarray,
                  settings: Settings, progress: Progress | None,
                  ) -> tuple[list[Segment], str, dict[str, list[str]], pd.DataFrame]:
    """Describe and name the segments; return them, the naming mode, interests and users.

    ``events`` needs the ``segment`` column; ``tokens`` and ``event_vectors`` align with it.
    """
    keywords = _segment_keywords(tokens, events[SEGMENT].to_numpy())
    evidence = segment_evidence(
        events, event_vectors, _segment_table(segment_ids, segmenter), segmenter.centroids_,
        keywords, n_total_users=len(profiles.user_ids),
    )
    namer, naming_mode = _namer(settings, progress)
    segments = namer.name(evidence)
    interests = user_interests(events, tokens, keywords)
    return (segments, naming_mode, interests,
            _user_table(profiles, segmenter, segment_ids, interests))


def _namer(settings: Settings, progress: Progress | None) -> tuple[SegmentNamer, str]:
    """Return the LLM namer when an endpoint is configured, else the extractive one."""
    client = LLMClient.from_settings(settings)
    if client is None:
        return ExtractiveNamer(), "extractive (offline: no LLM configured)"
    namer = LLMNamer(client, min_segment_users=settings.min_segment_users, progress=progress)
    return namer, f"llm ({client.where}), extractive fallback per segment"


def _input_label(inputs: Sequence[Path | str] | pd.DataFrame | IngestResult) -> str:
    if isinstance(inputs, IngestResult):
        return ", ".join(source.source for source in inputs.sources)
    return "dataframe" if isinstance(inputs, pd.DataFrame) else ", ".join(map(str, inputs))


def _segment_keywords(tokens: list[list[str]], labels: np.ndarray) -> dict[str, list[str]]:
    ctfidf = ClassTfidf().fit(tokens, labels)
    return {str(label): [word for word, _ in words]
            for label, words in ctfidf.top_keywords(N_KEYWORDS).items()}


def _segment_table(segment_ids: np.ndarray, segmenter: ProfileSegmenter) -> pd.DataFrame:
    frame = pd.DataFrame({"segment": segment_ids[segmenter.labels_],
                          "confidence": segmenter.confidence_})
    stats = frame.groupby("segment").agg(n_users=("confidence", "size"),
                                         mean_confidence=("confidence", "mean"))
    return pd.DataFrame({
        "segment_id": segment_ids,
        "cluster_id": segmenter.parent_cluster_,
        "n_users": stats["n_users"].reindex(segment_ids, fill_value=0).to_numpy(),
        "mean_confidence": stats["mean_confidence"].reindex(segment_ids, fill_value=0).to_numpy(),
    })


def _user_table(profiles: Profiles, segmenter: ProfileSegmenter, segment_ids: np.ndarray,
                interests: Mapping[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "user": profiles.user_ids,
        "segment": segment_ids[segmenter.labels_],
        "confidence": np.round(segmenter.confidence_, 4),
        "top_interests": [";".join(interests.get(u, [])) for u in profiles.user_ids],
        "is_outlier": segmenter.is_outlier_,
        "n_events": profiles.n_events,
    })


def store_results(store: Store, events: pd.DataFrame, event_vectors: np.ndarray,
                  users: pd.DataFrame, user_vectors: np.ndarray, segments: list,
                  centroids: np.ndarray, progress: Progress | None) -> None:
    """Make the store hold exactly this run: tables replaced, vectors upserted, stale ones dropped.

    Only the embedding cache and the snapshot history outlive a run, so re-running embeds
    nothing twice and segment ids stay stable.
    """
    store_tables(store, events, users, segments)
    collections = {
        "events": (events[EVENT_ID].tolist(), event_vectors,
                   events[[USER, EVENT_TYPE, LANGUAGE, SEGMENT]].to_dict("records")),
        "users": (users["user"].tolist(), user_vectors, users[["segment"]].to_dict("records")),
        "segments": ([s.segment_id for s in segments], centroids,
                     [{"name": s.name} for s in segments]),
    }
    for name, (ids, vectors, metadatas) in collections.items():
        store.replace_vectors(name, ids, vectors, metadatas, progress=progress)


def store_tables(store: Store, events: pd.DataFrame, users: pd.DataFrame,
                 segments: Sequence[Segment]) -> None:
    """Replace the store's events, users and segments tables."""
    table = events[[EVENT_ID, SOURCE, SOURCE_ROW, USER, TIMESTAMP, EVENT_TYPE, ITEM_ID,
                    ITEM_TEXT, LANGUAGE, SENTIMENT, SEGMENT, TEXT]]
    store.write_table("events", table, key=None)
    store.write_table("users", users, key=None)
    store.write_table("segments", pd.DataFrame({
        "segment_id": [s.segment_id for s in segments],
        "record": [s.model_dump_json() for s in segments],
    }), key=None)
