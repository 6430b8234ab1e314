"""One persistent store folder: DuckDB tables plus Chroma vectors, opened and closed together.

Layout of ``<dir>``: ``store.json`` (a manifest marking the folder as an InterestLens store),
``interestlens.duckdb`` (tables, run log, embedding cache) and ``chroma/`` (vector collections,
opened at first vector use). Holding the DuckDB file open is what keeps a second process out.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from interestlens.tools.atomic import atomic_write_text
from interestlens.tools.errors import StoreError
from interestlens.vectorstore.snapshots import SnapshotsMixin
from interestlens.vectorstore.tables import SCHEMA_VERSION, TablesMixin, connect_tables
from interestlens.vectorstore.vectors import VectorsMixin, open_chroma

if TYPE_CHECKING:
    import duckdb
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

DB_FILE = "interestlens.duckdb"
CHROMA_DIR = "chroma"
MANIFEST_FILE = "store.json"
_FORMAT = "interestlens-store"


class Store(TablesMixin, VectorsMixin, SnapshotsMixin):
    """Persistent tables and vectors of InterestLens runs, in one folder.

    Use as ``with Store(path) as store: ...`` or call ``open()`` and ``close()``. Methods may be
    called from several threads of one process; only one process may have the store open.

    Args:
        path: The store folder; created on ``open`` if missing (unless ``create=False``).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._client: ClientAPI | None = None
        self._collections: dict[str, Collection] = {}
        self._chroma_lock = threading.RLock()

    def open(self, *, create: bool = True) -> Store:
        """Open the folder, its database and its schema; ``create`` makes a missing store.

        Raises:
            StoreError: The folder is not a store (or, without ``create``, holds none yet), or
                the store is locked, corrupt or from another schema version.
        """
        if self._con is not None:
            return self
        if not create and not self.exists():
            raise StoreError(f"{self.path}: no InterestLens store here; run `interestlens run` "
                             "into this store first")
        self._check_folder()
        self._con = connect_tables(self.path / DB_FILE)
        logger.debug("opened store %s", self.path)
        return self

    def close(self) -> None:
        """Release the database and vector client; closing twice is harmless."""
        with self._chroma_lock:
            self._collections.clear()
            if self._client is not None:
                self._client.close()
                self._client = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exists(self) -> bool:
        """Return whether the folder holds a store (its manifest or its database)."""
        return any((self.path / name).is_file() for name in (MANIFEST_FILE, DB_FILE))

    def is_blank(self) -> bool:
        """Return whether the open store holds nothing yet: only its files and empty tables."""
        own = {MANIFEST_FILE, DB_FILE, f"{DB_FILE}.wal"}
        if any(entry.name not in own for entry in self.path.iterdir()):
            return False
        with self._cursor() as cur:
            names = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                                " AND table_name <> 'schema_version'").fetchall()
            return all(cur.execute(f'SELECT count(*) FROM "{name}"').fetchone() == (0,)
                       for (name,) in names)

    def _db(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(f"{self.path}: store is not open")
        return self._con

    def _chroma(self) -> ClientAPI:
        self._db()  # vectors are only reachable while the store (and its lock) is held
        with self._chroma_lock:
            if self._client is None:
                self._client = open_chroma(self.path / CHROMA_DIR)
            return self._client

    def _check_folder(self) -> None:
        """Make sure ``path`` is an InterestLens store or a new folder, and mark it as a store."""
        manifest = self.path / MANIFEST_FILE
        if manifest.exists():
            try:
                fmt = json.loads(manifest.read_text(encoding="utf-8")).get("format")
            except (OSError, ValueError, AttributeError) as err:
                raise StoreError(f"{manifest}: unreadable store manifest: {err}") from err
            if fmt != _FORMAT:
                raise StoreError(f"{manifest}: not an InterestLens store manifest")
            return
        if self.path.is_file():
            raise StoreError(f"{self.path}: is a file, not a store folder")
        # Sub-folders are allowed (other parts of InterestLens may create theirs first); files
        # other than the database mean someone else's folder, which the store must not litter.
        own = {DB_FILE, f"{DB_FILE}.wal"}
        entries = self.path.iterdir() if self.path.is_dir() else ()
        if any(entry.is_file() and entry.name not in own for entry in entries):
            raise StoreError(f"{self.path}: folder has other files, not an InterestLens store")
        record = {
            "format": _FORMAT,
            "schema_version": SCHEMA_VERSION,
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        atomic_write_text(manifest, json.dumps(record, indent=2) + "\n")
