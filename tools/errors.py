"""The one error hierarchy of InterestLens; ``str(err)`` is a single line a user can act on."""

from __future__ import annotations

from pathlib import Path


class InterestLensError(Exception):
    """Base of every error InterestLens raises on purpose."""


class InputError(InterestLensError):
    """A whole input file (or a required part of it) cannot be used."""

    def __init__(self, path: Path | str, problem: str, row: int | None = None):
        self.path, self.problem, self.row = Path(path), problem, row
        where = f"{path}" if row is None else f"{path}, row {row}"
        super().__init__(f"{where}: {problem}")


class ConfigError(InterestLensError):
    """An option or setting is invalid or two options clash."""


class StoreError(InterestLensError):
    """The store on disk is missing, locked, corrupt or from another version."""


class LLMError(InterestLensError):
    """The LLM endpoint failed or returned something unusable."""
