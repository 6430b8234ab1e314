"""One browser session: its own ``Assistant`` (and so its own conversation) and its own folder."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from interestlens.agent import Assistant, Segment, Settings, StoreError

logger = logging.getLogger(__name__)


@dataclass
class Session:
    """What one browser session owns; kept in a ``gr.State``, never shared.

    Args:
        assistant: The session's facade: the shared store at first, the session's own store
            after it runs its own data.
        inputs: The files (uploaded into its folder) or server path the next run reads.
    """

    assistant: Assistant
    inputs: list[Path] = field(default_factory=list)
    _folder: Path | None = field(default=None, init=False, repr=False)
    _n_runs: int = field(default=0, init=False, repr=False)

    @classmethod
    def ensure(cls, session: Session | None,
               new_assistant: Callable[[], Assistant]) -> Session:
        """Return ``session``, or a new one around ``new_assistant()`` when there is none yet."""
        return session if session is not None else cls(new_assistant())

    @property
    def folder(self) -> Path:
        """The session's private working folder (uploads, runs, exports), made on first use."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="interestlens-ui-"))
        return self._folder

    def subfolder(self, name: str) -> Path:
        """Return ``folder/name``, created."""
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def next_run(self) -> Path:
        """Return a new, empty folder for one run's store and outputs."""
        self._n_runs += 1
        return self.subfolder(f"run-{self._n_runs}")

    def switch(self, assistant: Assistant) -> None:
        """Use ``assistant`` from now on; the previous one is closed (its conversation ends).

        The previous store is deleted when it was one of this session's runs.
        """
        previous, self.assistant = self.assistant, assistant
        if previous is assistant:
            return
        previous.close()
        run = previous.store_dir.parent
        if (self._folder is not None and run.parent == self._folder
                and run != assistant.store_dir.parent):
            shutil.rmtree(run, ignore_errors=True)

    def with_settings(self, settings: Settings) -> None:
        """Reopen the current store with new settings."""
        self.switch(Assistant(self.assistant.store_dir, settings=settings))

    def segments(self) -> list[Segment]:
        """Return the segments, or an empty list while the store holds no finished run."""
        try:
            return self.assistant.segments()
        except StoreError as err:
            logger.info("no segments to show: %s", err)
            return []

    def close(self) -> None:
        """Release the store and delete the session's folder (called when the tab goes away)."""
        self.assistant.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def close_session(session: Session | None) -> None:
    """``gr.State`` delete callback: close a session that was started."""
    if session is not None:
        session.close()
