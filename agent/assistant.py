"""``Assistant``: the facade the CLI, the UI and Python callers use; it delegates, never decides."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from interestlens.agent.results import RunResult, RunSummary, UserProfile
from interestlens.agent.settings import Settings
from interestlens.tools.records import Progress, Recommendation, Segment
from interestlens.tools.zeroshot import parse_labels

if TYPE_CHECKING:
    from interestlens.agent.evolution import SegmentTrends
    from interestlens.agent.preview import SourcePreview
    from interestlens.agent.replay import ReplayResult
    from interestlens.agent.update import UpdateResult
    from interestlens.tools.catalogue import ItemFilter

logger = logging.getLogger(__name__)


class Assistant:
    """Find, explain and recommend from user-interest segments.

    Args:
        store: Folder of the persistent store (Chroma + DuckDB); defaults to ``settings.store_dir``.
        settings: Configuration; built from the environment when omitted.
    """

    def __init__(self, store: Path | str | None = None, *, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.store_dir = Path(store) if store is not None else self.settings.store_dir
        self.last_result: RunResult | None = None
        self._store = None
        self._explorer = None
        self._chat = None

    def run(
        self,
        inputs: Path | str | Sequence[Path | str] | pd.DataFrame,
        *,
        out_dir: Path | str | None = None,
        column_map: Mapping[str, str] | None = None,
        items: Path | str | None = None,
        items_map: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        interests: Sequence[str] | str | None = None,
    ) -> RunResult:
        """Run the whole pipeline on files, folders or a DataFrame and return the result.

        ``items`` is an optional catalogue file of the recommendable items (id, title and/or
        description, optional category and date columns; ``items_map`` overrides its roles:
        ``item_id``, ``title``, ``description``, ``category``, ``date``).
        ``interests`` are zero-shot labels (a list, or ``"咖啡,茶,数码"``) scored for every user
        and segment; ``settings.interests`` when omitted.
        """
        from interestlens.agent.pipeline import run_pipeline

        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        self._explorer = None
        with self._new_store_kept_on_success():
            self.last_result = run_pipeline(
                inputs, store=self._open_store(), settings=self.settings,
                out_dir=Path(out_dir) if out_dir is not None else None,
                column_map=column_map, items=items, items_map=items_map, progress=progress,
                interest_labels=(parse_labels(interests) if isinstance(interests, str)
                                 else interests),
            )
        return self.last_result

    def update(
        self,
        inputs: Path | str | Sequence[Path | str] | pd.DataFrame,
        *,
        out_dir: Path | str | None = None,
        column_map: Mapping[str, str] | None = None,
        recluster: bool = False,
        progress: Progress | None = None,
    ) -> UpdateResult:
        """Add the new events of ``inputs`` to the store and follow the segments (no full re-run).

        Events already in the store are skipped, so feeding the same file twice changes nothing.
        Re-clusters when many users are far from every segment, or when ``recluster`` is set.
        """
        from interestlens.agent.update import update_store

        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        self._explorer = None
        with self._new_store_kept_on_success():
            return update_store(inputs, store=self._open_store(), settings=self.settings,
                                out_dir=Path(out_dir) if out_dir is not None else None,
                                column_map=column_map, recluster=recluster, progress=progress)

    def replay(
        self,
        inputs: Path | str | Sequence[Path | str] | pd.DataFrame,
        *,
        window: str | None = None,
        snapshots: int | None = None,
        out_dir: Path | str | None = None,
        column_map: Mapping[str, str] | None = None,
        recluster: bool = False,
        progress: Progress | None = None,
    ) -> ReplayResult:
        """Replay a history window by window (``window="90d"`` or ``snapshots=N``).

        The first window is a run, each next one an update, each a snapshot of the store.
        """
        from interestlens.agent.replay import replay_history

        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        self._explorer = None
        with self._new_store_kept_on_success():
            return replay_history(inputs, store=self._open_store(), settings=self.settings,
                                  window=window, n_snapshots=snapshots,
                                  out_dir=Path(out_dir) if out_dir is not None else None,
                                  column_map=column_map, recluster=recluster,
                                  progress=progress)

    def trends(self) -> SegmentTrends:
        """Return the segment history: sizes per snapshot and the transitions between them."""
        from interestlens.agent.evolution import load_trends

        return load_trends(self._open_store(create=False))

    def ask(self, question: str):
        """Answer a question about the segments: LLM agent when configured, else offline router.

        Returns a ``Reply`` with the text, the tool calls made and the mode that produced it.
        """
        if self._chat is None:
            from interestlens.agent.chat import ChatSession

            self._chat = ChatSession.for_assistant(self)
        return self._chat.ask(question)

    def close(self) -> None:
        """Release the store (its DuckDB file lock)."""
        if self._store is not None:
            self._store.close()
        self._store, self._explorer = None, None

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- questions answered from the store of the last run ------------------------------------
    def segments(self) -> list[Segment]:
        """Return all segments, largest first."""
        return self._view().segments()

    def segment(self, segment_id: str) -> Segment:
        """Return one segment by id (e.g. ``"S3"``)."""
        return self._view().segment(segment_id)

    def user(self, user_id: str) -> UserProfile:
        """Return one user's segment, confidence and top interests."""
        return self._view().user(user_id)

    def recommend(self, user_id: str, k: int = 5, *, category: str | None = None,
                  since: str | None = None, until: str | None = None) -> list[Recommendation]:
        """Recommend ``k`` unseen items to a user, each with a reason and its evidence.

        Only items of ``category`` dated from ``since`` to ``until`` (inclusive; ISO dates) are
        recommended when those are given; an unknown category is a ``ConfigError``.
        """
        return self._view().recommend(user_id, k, _item_filter(category, since, until))

    def recommend_for_segment(self, segment_id: str, k: int = 5, *, category: str | None = None,
                              since: str | None = None,
                              until: str | None = None) -> list[Recommendation]:
        """Recommend ``k`` items to a whole segment (filters as in ``recommend``)."""
        return self._view().recommend_for_segment(segment_id, k,
                                                  _item_filter(category, since, until))

    def recommend_all(self, k: int = 10, *, category: str | None = None,
                      since: str | None = None, until: str | None = None) -> pd.DataFrame:
        """Return ``k`` recommendations for every user (filters as in ``recommend``).

        Columns: user, segment, level, rank, item, item_text, score, reason, reason_mode,
        evidence (strings joined by " | "); ``level`` is ``cold_start`` for users with too few
        events, who get segment-level picks. Reasons are templated (no LLM calls).
        """
        return self._view().recommend_all(k, _item_filter(category, since, until))

    def export_recommendations(self, path: Path | str, k: int = 10, *,
                               category: str | None = None, since: str | None = None,
                               until: str | None = None) -> Path:
        """Write ``recommend_all`` to ``path``: CSV (``.csv``) or JSON (``.json``)."""
        return self._view().export_recommendations(Path(path), k,
                                                   _item_filter(category, since, until))

    def find_users(self, text: str, k: int = 10) -> pd.DataFrame:
        """Return the users whose interests are closest to ``text`` (user, segment, score)."""
        return self._view().find_users(text, k)

    def find_segments(self, text: str, k: int = 3) -> list[tuple[Segment, float]]:
        """Return the segments closest to an interest described in ``text``."""
        return self._view().find_segments(text, k)

    def compare_segments(self, a: str, b: str):
        """Compare two segments (sizes, sentiment, shared and distinct keywords)."""
        return self._view().compare(a, b)

    def query_events(self, sql: str, params: Sequence | None = None,
                     limit: int = 200) -> pd.DataFrame:
        """Run a read-only SQL query (SELECT/WITH only) over the store's tables."""
        return self._view().query_events(sql, params, limit)

    def export_segment(self, segment_id: str, path: Path | str,
                       fmt: Literal["csv", "json"] = "csv") -> Path:
        """Write a segment's user list as CSV or JSON."""
        return self._view().export_segment(segment_id, Path(path), fmt)

    def pipeline_mermaid(self) -> str:
        """Return the pipeline as a Mermaid diagram with the last run's counts."""
        return self._view().pipeline_mermaid()

    def run_summary(self) -> RunSummary | None:
        """Return the counts and timings of the store's last run (None before the first run)."""
        from interestlens.vectorstore import Store

        if self._store is None and not Store(self.store_dir).exists():
            return None
        runs = self._open_store(create=False).runs()
        return RunSummary.model_validate_json(runs["summary"].iloc[-1]) if len(runs) else None

    def user_map(self, max_points: int = 2000) -> pd.DataFrame:
        """Return 2-D map coordinates of a sample of users, computed once per store view.

        Columns: user, segment, confidence, top_interests, x, y.
        """
        return self._view().user_map(max_points)

    def user_events(self, user_id: str, limit: int = 10) -> pd.DataFrame:
        """Return a user's latest events (timestamp, event_type, item_text, sentiment, text)."""
        return self._view().user_events(user_id, limit)

    def interest_sentiment(self, user_id: str) -> pd.DataFrame:
        """Return a user's top interests with how often and how positively they mention each."""
        return self._view().interest_sentiment(user_id)

    def preview(self, inputs: Sequence[Path | str], *,
                column_map: Mapping[str, str] | None = None) -> list[SourcePreview]:
        """Return how a run would read each input: column roles, row counts and first rows."""
        from interestlens.agent.preview import preview_inputs

        return preview_inputs(inputs, column_map=column_map)

    def _open_store(self, *, create: bool = True):
        """Return the open store; reading (``create=False``) never makes a missing one."""
        from interestlens.vectorstore import Store

        if self._store is None:
            self._store = Store(self.store_dir).open(create=create)
        return self._store

    @contextmanager
    def _new_store_kept_on_success(self) -> Iterator[None]:
        """Remove the store folder made by a job that fails before writing anything into it."""
        is_new = self._store is None and not self.store_dir.exists()
        try:
            yield
        except BaseException:
            if is_new and self._store is not None and self._store.is_blank():
                self.close()
                shutil.rmtree(self.store_dir, ignore_errors=True)
            raise

    def _view(self):
        from interestlens.agent.explorer import StoreExplorer

        if self._explorer is None:
            from interestlens.agent.llm import LLMClient

            llm = LLMClient.from_settings(self.settings)
            self._explorer = StoreExplorer(self._open_store(create=False), llm)
        return self._explorer


def _item_filter(category: str | None, since: str | None, until: str | None) -> ItemFilter:
    """Return the ``ItemFilter`` of the recommend options."""
    from interestlens.tools.catalogue import ItemFilter

    return ItemFilter(category=category, since=since, until=until)
