"""Replay a history window by window: a run on the first window, an update for each next one.

Each window is one snapshot of the store, so ``interestlens trends`` then shows how the segments
of a real community were born, grew, split, merged, drifted and died.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from interestlens.agent.evolution import SegmentTrends, load_trends
from interestlens.agent.pipeline import run_pipeline
from interestlens.agent.settings import Settings
from interestlens.agent.update import update_store
from interestlens.tools import report
from interestlens.tools.ingest import IngestResult, load_events
from interestlens.tools.records import TIMESTAMP, Progress, QuarantinedRow
from interestlens.tools.replay import Window, in_window, time_windows
from interestlens.vectorstore import Store

logger = logging.getLogger(__name__)


class ReplayStep(BaseModel):
    """What one window of a replay did."""

    model_config = ConfigDict(frozen=True)
    label: str
    kind: str  # "run" for the first window, else "update"
    n_events: int  # events of the window kept (new ones, for an update)
    n_users: int
    n_segments: int
    is_reclustered: bool
    transitions: dict[str, int]
    seconds: float


@dataclass(frozen=True)
class ReplayResult:
    """The steps of a replay and the history they left in the store."""

    steps: list[ReplayStep]
    trends: SegmentTrends
    output_files: dict[str, Path]
    quarantine: tuple[QuarantinedRow, ...] = ()  # rows set aside at read and in every window


def replay_history(
    inputs: Sequence[Path | str] | pd.DataFrame,
    *,
    store: Store,
    settings: Settings,
    window: str | None = None,
    n_snapshots: int | None = None,
    out_dir: Path | None = None,
    column_map: Mapping[str, str] | None = None,
    recluster: bool = False,
    progress: Progress | None = None,
) -> ReplayResult:
    """Replay ``inputs`` window by window into ``store``; the last step writes ``out_dir``.

    ``out_dir``'s ``quarantine.csv`` holds the rows set aside in every window.

    Give ``window`` (``"90d"``, ``"1y"``, ...) or ``n_snapshots``; see ``tools.replay``.
    Undated events join the first window; rows set aside at read count in the first window.

    Raises:
        ConfigError: Bad window options, or no event has a time.
    """
    ingested = load_events(inputs, column_map=column_map, progress=progress)
    windows = time_windows(ingested.events[TIMESTAMP], window=window, n_snapshots=n_snapshots)
    logger.info("replay: %d windows", len(windows))
    steps, files, quarantine = [], {}, []
    for index, span in enumerate(windows):
        part = _window_part(ingested, span, is_first=index == 0)
        out = out_dir if index == len(windows) - 1 else None
        if index == 0:
            result = run_pipeline(part, store=store, settings=settings, out_dir=out,
                                  progress=progress, snapshot_label=span.label)
            s = result.summary
            step = ReplayStep(label=span.label, kind="run", n_events=s.n_kept, n_users=s.n_users,
                              n_segments=s.n_segments, is_reclustered=True,
                              transitions=s.n_transitions, seconds=s.total_seconds)
        else:
            result = update_store(part, store=store, settings=settings, out_dir=out,
                                  recluster=recluster, label=span.label, progress=progress)
            s = result.summary
            step = ReplayStep(label=span.label, kind="update", n_events=s.n_new_events,
                              n_users=s.n_users, n_segments=s.n_segments,
                              is_reclustered=s.is_reclustered, transitions=s.transitions,
                              seconds=s.total_seconds)
        files = result.output_files or files
        quarantine += result.quarantine
        logger.info("replay %s: %s", span.label, step.transitions)
        steps.append(step)
    quarantine.sort(key=lambda q: (q.source, q.row is None, q.row or 0))
    if out_dir is not None:
        files = files | {"quarantine": report.write_quarantine(out_dir, quarantine)}
    return ReplayResult(steps=steps, trends=load_trends(store), output_files=files,
                        quarantine=tuple(quarantine))


def _window_part(ingested: IngestResult, span: Window, *, is_first: bool) -> IngestResult:
    """Return the events of one window as an ingest result of their own."""
    events = ingested.events[in_window(ingested.events[TIMESTAMP], span, is_first=is_first)]
    quarantine = ingested.quarantine if is_first else []
    return IngestResult(events=events.reset_index(drop=True), quarantine=list(quarantine),
                        sources=ingested.sources, is_document_mode=ingested.is_document_mode,
                        n_input_rows=len(events) + len(quarantine))
