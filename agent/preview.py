"""What a run would read from its inputs: each source's column roles, row counts and first rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from interestlens.tools.connectors import read_table
from interestlens.tools.ingest import ROLES, load_events
from interestlens.tools.records import EVENT_TYPE, ITEM_ID, SOURCE, TEXT, TIMESTAMP, USER


@dataclass(frozen=True)
class SourcePreview:
    """One input source as ingest reads it, before anything is stored.

    Attributes:
        source: File or folder name.
        kind: ``csv``, ``tsv``, ``json``, ``jsonl``, ``parquet``, ``stackexchange`` or
            ``movielens``.
        encoding: Text encoding used (None for Parquet).
        roles: Role -> column, detected from the headers or given in the column map.
        columns: The file's columns; empty for a folder, whose roles are fixed.
        n_rows: Data rows read.
        n_usable: Rows ingest keeps (the rest go to quarantine).
        sample: The first rows as read (a folder: its first events).
    """

    source: str
    kind: str
    encoding: str | None
    roles: dict[str, str]
    columns: tuple[str, ...]
    n_rows: int
    n_usable: int
    sample: pd.DataFrame


def preview_inputs(inputs: Sequence[Path | str], *, column_map: Mapping[str, str] | None = None,
                   n_rows: int = 5) -> list[SourcePreview]:
    """Return how ingest reads each input, with the roles a run given ``column_map`` would use.

    Raises:
        InputError: An input cannot be used as a whole.
        ConfigError: ``column_map`` names an unknown role, or no input is given.
    """
    paths = [Path(p) for p in inputs]
    ingested = load_events(paths, column_map=column_map)
    previews = []
    for path, summary in zip(paths, ingested.sources, strict=True):
        if path.is_dir():
            sources = ingested.events[SOURCE]  # a folder's files are "<folder>/Posts.xml", …
            events = ingested.events[sources.str.startswith(f"{summary.source}/")]
            sample, columns = events[[USER, TIMESTAMP, EVENT_TYPE, TEXT, ITEM_ID]], ()
        else:
            frame = read_table(path).frame
            sample, columns = frame, tuple(str(c) for c in frame.columns)
        roles = {role: column for role in ROLES
                 if (column := getattr(summary.roles, role)) is not None}
        previews.append(SourcePreview(
            source=summary.source, kind=summary.kind, encoding=summary.encoding, roles=roles,
            columns=columns, n_rows=summary.n_rows, n_usable=summary.n_kept,
            sample=sample.head(n_rows).reset_index(drop=True)))
    return previews
