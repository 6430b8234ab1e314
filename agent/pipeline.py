"""The main job, top to bottom: which stages run, in what order, with which options."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from interestlens.agent.encoder import ARTIFACT as ENCODER_ARTIFACT
from interestlens.agent.encoder import FusedEncoder
from interestlens.agent.llm import LLMClient
from interestlens.agent.llm_naming import LLMNamer
from interestlens.agent.recommender import StoreRecommender
from interestlens.agent.results import RunResult, RunSummary
from interestlens.agent.settings import Settings
from interestlens.tools import report
from interestlens.tools.clean import clean_events
from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.errors import InputError
from interestlens.tools.evidence import SEGMENT, segment_evidence, user_interests
from interestlens.tools.features import ClassTfidf, LexicalEncoder, TopicModel
from interestlens.tools.ingest import load_events
from interestlens.tools.name import ExtractiveNamer, SegmentNamer
from interestlens.tools.profile import build_profiles
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
class _Clock:
    """Seconds spent per stage, in pipeline order."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def run_pipeline(
    inputs: Sequence[Path | str] | pd.DataFrame,
    *,
    store: Store,
    settings: Settings,
    out_dir: Path | None = None,
    column_map: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run every stage on ``inputs`` and return the result.

    Stages: ingest → clean → features → embed → profile → cluster → segment → name → store →
    recommend → report.
    """
    clock, started = _Clock(), time.perf_counter()
    with clock.stage("ingest"):
        ingested = load_events(inputs, column_map=column_map, progress=progress)
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
        events[SENTIMENT] = score_sentiment(events[TEXT].tolist(), languages, progress=progress)
        language_share = events[LANGUAGE].value_counts(normalize=True).round(4).to_dict()
        topic_model = TopicModel(random_state=settings.random_state)
        topic_model.fit(tokens)  # samples at most max_fit_docs itself

    with clock.stage("embed"):
        weight = (settings.lexical_weight if settings.lexical_weight is not None
                  else lexical_weight_for(language_share))
        encoder = FusedEncoder(settings.embedding_model, settings.embedding_batch_size,
                               LexicalEncoder(random_state=settings.random_state), weight)
        encoder.lexical_encoder.fit(tokens)
        event_vectors, n_embedded = encoder.encode(events[TEXT].tolist(), store,
                                                   progress=progress, tokens=tokens)
        save_artifact(store.path, ENCODER_ARTIFACT, encoder)

    with clock.stage("profile"):
        profiles = build_profiles(events, event_vectors, half_life_days=settings.half_life_days)
    with clock.stage("cluster"):
        clusterer = DensityClusterer(random_state=settings.random_state).fit(profiles.matrix)
    with clock.stage("segment"):
        segmenter = ProfileSegmenter(min_segment_size=settings.min_segment_users,
                                     random_state=settings.random_state)
        segmenter.fit(profiles.matrix, clusterer.labels_)
        segment_ids = np.array([f"S{i + 1}" for i in range(len(segmenter.centroids_))])
        user_segment = dict(zip(profiles.user_ids, segment_ids[segmenter.labels_]))
        events[SEGMENT] = events[USER].map(user_segment)
        keywords = _segment_keywords(tokens, events[SEGMENT].to_numpy())

    with clock.stage("name"):
        segment_table = _segment_table(segment_ids, segmenter)
        evidence = segment_evidence(
            events, event_vectors, segment_table, segmenter.centroids_, keywords,
            n_total_users=len(profiles.user_ids),
        )
        namer, naming_mode = _namer(settings, progress)
        segments = namer.name(evidence)
        interests = user_interests(events, tokens, keywords)
        users = _user_table(profiles, segmenter, segment_ids, interests)

    with clock.stage("store"):
        _store_run(store, events, event_vectors, users, profiles.matrix, segments,
                   segmenter.centroids_, progress)

    with clock.stage("recommend"):
        recommender = StoreRecommender(store, events, interests, tune=True,
                                       random_state=settings.random_state)
        recommender.index_items(encoder, progress)
        recommendations = recommender.rank(list(profiles.user_ids), profiles.matrix,
                                           settings.recommendations_per_user)
        store.write_table("recommendations", recommendations, key=None)

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
        lexical_weight=round(weight, 3), embedding_model=encoder.embedder.model_id,
        naming_mode=naming_mode,
        topics=tuple(tuple(words) for words in topic_model.topic_words_),
        stage_seconds=clock.seconds, total_seconds=0.0,
        out_dir=str(out_dir) if out_dir else None, store_dir=str(store.path),
    )
    output_files: dict[str, Path] = {}
    if out_dir is not None:
        with clock.stage("report"):
            index, coords = report.project_2d(profiles.matrix, random_state=settings.random_state)
            output_files = report.write_outputs(
                out_dir, segments=segments, users=users,
                events=events[[EVENT_ID, USER, LANGUAGE, SENTIMENT, TEXT]],
                recommendations=recommendations, quarantine=quarantine, map_coords=coords,
                map_segments=users["segment"].to_numpy()[index],
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
        output_files=output_files,
        recommender=lambda user, k: recommender.for_owner(
            user, profiles.matrix[np.searchsorted(profiles.user_ids, user)], k),
    )


def _namer(settings: Settings, progress: Progress | None) -> tuple[SegmentNamer, str]:
    """Return the LLM namer when an endpoint is configured, else the extractive one."""
    client = LLMClient.from_settings(settings)
    if client is None:
        return ExtractiveNamer(), "extractive (offline: no LLM configured)"
    namer = LLMNamer(client, min_segment_users=settings.min_segment_users, progress=progress)
    return namer, f"llm ({client.where}), extractive fallback per segment"


def _input_label(inputs: Sequence[Path | str] | pd.DataFrame) -> str:
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


def _user_table(profiles, segmenter: ProfileSegmenter, segment_ids: np.ndarray,
                interests: Mapping[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "user": profiles.user_ids,
        "segment": segment_ids[segmenter.labels_],
        "confidence": np.round(segmenter.confidence_, 4),
        "top_interests": [";".join(interests.get(u, [])) for u in profiles.user_ids],
        "is_outlier": segmenter.is_outlier_,
        "n_events": profiles.n_events,
    })


def _store_run(store: Store, events: pd.DataFrame, event_vectors: np.ndarray,
               users: pd.DataFrame, user_vectors: np.ndarray, segments: list,
               centroids: np.ndarray, progress: Progress | None) -> None:
    """Make the store hold exactly this run: tables replaced, vectors upserted, stale ones dropped.

    Only the embedding cache outlives a run, so re-running embeds nothing twice.
    """
    table = events[[EVENT_ID, SOURCE, SOURCE_ROW, USER, TIMESTAMP, EVENT_TYPE, ITEM_ID,
                    ITEM_TEXT, LANGUAGE, SENTIMENT, SEGMENT, TEXT]]
    store.write_table("events", table, key=None)
    store.write_table("users", users, key=None)
    store.write_table("segments", pd.DataFrame({
        "segment_id": [s.segment_id for s in segments],
        "record": [s.model_dump_json() for s in segments],
    }), key=None)
    collections = {
        "events": (events[EVENT_ID].tolist(), event_vectors,
                   events[[USER, EVENT_TYPE, LANGUAGE, SEGMENT]].to_dict("records")),
        "users": (users["user"].tolist(), user_vectors, users[["segment"]].to_dict("records")),
        "segments": ([s.segment_id for s in segments], centroids,
                     [{"name": s.name} for s in segments]),
    }
    for name, (ids, vectors, metadatas) in collections.items():
        store.upsert_vectors(name, ids, vectors, metadatas=metadatas, progress=progress)
        store.delete_missing(name, ids)
