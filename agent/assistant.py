"""``Assistant``: the facade the CLI, the UI and Python callers use; it delegates, never decides."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from interestlens.agent.results import RunResult, UserProfile
from interestlens.agent.settings import Settings
from interestlens.tools.records import Progress, Recommendation, Segment

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
        progress: Progress | None = None,
    ) -> RunResult:
        """Run the whole pipeline on files, folders or a DataFrame and return the result."""
        from interestlens.agent.pipeline import run_pipeline

        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        self._explorer = None
        self.last_result = run_pipeline(
            inputs, store=self._open_store(), settings=self.settings,
            out_dir=Path(out_dir) if out_dir is not None else None,
            column_map=column_map, progress=progress,
        )
        return self.last_result

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

    def recommend(self, user_id: str, k: int = 5) -> list[Recommendation]:
        """Recommend ``k`` unseen items to a user, each with a reason."""
        return self._view().recommend(user_id, k)

    def recommend_for_segment(self, segment_id: str, k: int = 5) -> list[Recommendation]:
        """Recommend ``k`` items to a whole segment."""
        return self._view().recommend_for_segment(segment_id, k)

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

    def _open_store(self):
        from interestlens.vectorstore import Store

        if self._store is None:
            self._store = Store(self.store_dir).open()
        return self._store

    def _view(self):
        from interestlens.agent.explorer import StoreExplorer

        if self._explorer is None:
            from interestlens.agent.llm import LLMClient

            llm = LLMClient.from_settings(self.settings)
            self._explorer = StoreExplorer(self._open_store(), llm)
        return self._explorer
