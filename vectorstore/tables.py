"""The DuckDB half of the store: result tables, the run log, the embedding cache, read-only SQL."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from interestlens.tools.errors import StoreError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_RESERVED = frozenset({"schema_version", "embedding_cache", "runs"})
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS embedding_cache (model_id VARCHAR, text_hash VARCHAR,"
    " vector FLOAT[] NOT NULL, PRIMARY KEY (model_id, text_hash))",
    "CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL,"
    " finished_at TIMESTAMPTZ NOT NULL, summary VARCHAR NOT NULL)",
)
# No file, network or extension access from SQL, and no scanning of Python variables by name:
# the store only reads frames it registers itself, and ``query`` runs text written by an LLM.
_CONFIG = {
    "enable_external_access": False,
    "python_enable_replacements": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect_tables(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open (or create) the store's DuckDB file and bring its schema up to date.

    Raises:
        StoreError: The file is locked by another process, is not a DuckDB file, or holds
            another schema version.
    """
    try:
        con = duckdb.connect(str(db_path), config=_CONFIG)
    except duckdb.Error as err:
        if "lock" in str(err).lower():
            raise StoreError(f"{db_path.parent}: store is in use by another process") from err
        raise StoreError(f"{db_path}: cannot open the store database: {_first_line(err)}") from err
    try:
        con.execute("SET GLOBAL TimeZone = 'UTC'")  # cursors inherit it: timestamps read as UTC
        for statement in _SCHEMA:
            con.execute(statement)
        _check_version(con, db_path)
    except BaseException:
        con.close()
        raise
    return con


def _check_version(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    if row is None or row[0] is None:
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
    elif row[0] != SCHEMA_VERSION:
        raise StoreError(
            f"{db_path}: store has schema version {row[0]}, this InterestLens reads "
            f"version {SCHEMA_VERSION}; use a new store folder"
        )


class TablesMixin:
    """Table, run-log, cache and SQL methods of ``Store``; needs ``path`` and ``_db()``."""

    path: Path

    def _db(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a private cursor (safe to use from one thread), closed afterwards."""
        cursor = self._db().cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    # ---- embedding cache -----------------------------------------------------------------------

    def cached_embeddings(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the cached vectors of ``model_id`` for those ``hashes`` the cache holds."""
        wanted = pa.table({"text_hash": pa.array(list(hashes), pa.string())})
        with self._cursor() as cur:
            cur.register("_wanted", wanted)
            found = cur.sql(
                "SELECT c.text_hash, c.vector FROM embedding_cache c"
                " SEMI JOIN _wanted w ON c.text_hash = w.text_hash WHERE c.model_id = ?",
                params=[model_id],
            ).to_arrow_table()
        vectors = _list_column_to_matrix(found["vector"])
        return dict(zip(found["text_hash"].to_pylist(), vectors, strict=True))

    def save_embeddings(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Cache ``vectors`` (one row per hash) under ``model_id``; known hashes are kept as is."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(hashes):
            raise ValueError(f"need one vector row per hash, got {vectors.shape} for {len(hashes)}")
        _, first = np.unique(np.asarray(hashes, dtype=object), return_index=True)
        rows = np.sort(first)
        dim = vectors.shape[1]
        offsets = np.arange(0, (len(rows) + 1) * dim, dim, dtype=np.int64)
        incoming = pa.table({
            "text_hash": pa.array([hashes[i] for i in rows], pa.string()),
            "vector": pa.LargeListArray.from_arrays(offsets, pa.array(vectors[rows].ravel())),
        })
        with self._cursor() as cur:
            cur.register("_new", incoming)
            cur.execute(  # the anti-join skips known rows cheaply; ON CONFLICT covers races
                "INSERT INTO embedding_cache SELECT ?, n.text_hash, n.vector FROM _new n"
                " ANTI JOIN embedding_cache c ON c.model_id = ? AND c.text_hash = n.text_hash"
                " ON CONFLICT DO NOTHING",
                [model_id, model_id],
            )

    # ---- result tables -------------------------------------------------------------------------

    def write_table(self, name: str, frame: pd.DataFrame, key: str | None) -> None:
        """Upsert ``frame`` into table ``name`` by its ``key`` column, or replace it if key is None.

        Re-writing the same rows leaves the table unchanged, so re-running a pipeline into the
        same store is idempotent. Columns the table lacks are added.

        Raises:
            ValueError: Bad table name, or the key column is missing, has nulls or repeats.
            StoreError: DuckDB refused the rows (e.g. a column changed type since last time).
        """
        _check_name(name)
        if key is not None:
            _check_key(frame, key)
        incoming = _to_arrow(frame)
        with self._cursor() as cur, _transaction(cur):
            cur.register("_incoming", incoming)
            try:
                if key is None or name not in _table_names(cur):
                    cur.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _incoming')
                    if key is not None:
                        cur.execute(f'ALTER TABLE "{name}" ADD PRIMARY KEY ("{key}")')
                else:
                    _upsert(cur, name, key)
            except duckdb.Error as err:
                problem = _first_line(err)
                raise StoreError(f"{self.path}: cannot write table {name!r}: {problem}") from err
        logger.debug("wrote %d rows into %s", len(frame), name)

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the table ``name``, ordered by its key when it has one.

        ``columns`` keeps only those of the table's columns that it names, in table order (for
        a large table, much faster than reading every column); None keeps them all.

        Raises:
            StoreError: The store has no such table.
            ValueError: The table has none of ``columns``.
        """
        _check_name(name)
        with self._cursor() as cur:
            if name not in _table_names(cur):
                raise StoreError(f"{self.path}: the store has no table {name!r} yet")
            key = _primary_key(cur, name)
            order = f' ORDER BY "{key}"' if key else ""
            picked = "*"
            if columns is not None:
                names = [d[0] for d in cur.execute(f'SELECT * FROM "{name}" LIMIT 0').description]
                picked = ", ".join(f'"{c}"' for c in names if c in set(columns))
                if not picked:
                    raise ValueError(f"table {name!r} has none of the columns {list(columns)}")
            return cur.execute(f'SELECT {picked} FROM "{name}"{order}').df()

    # ---- run log -------------------------------------------------------------------------------

    def record_run(
        self, summary: Mapping[str, object], *, started_at: datetime | None = None
    ) -> int:
        """Append a run (finished now, UTC) with its JSON ``summary``; return its ``run_id``."""
        finished_at = datetime.now(timezone.utc)
        text = json.dumps(dict(summary), ensure_ascii=False, sort_keys=True, default=str)
        with self._cursor() as cur, _transaction(cur):
            (run_id,) = cur.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()
            cur.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?)",
                [run_id, started_at or finished_at, finished_at, text],
            )
        return int(run_id)

    def runs(self) -> pd.DataFrame:
        """Return the run log, oldest first: run_id, started_at, finished_at, summary (JSON)."""
        with self._cursor() as cur:
            return cur.execute("SELECT * FROM runs ORDER BY run_id").df()

    # ---- read-only SQL -------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence | None = None, *, limit: int = 1000) -> pd.DataFrame:
        """Run one read-only SELECT (or WITH ... SELECT) and return at most ``limit`` rows.

        The statement runs in a transaction that is rolled back, with no file or network access.
        ``frame.attrs["truncated"]`` tells whether rows were cut off.

        Raises:
            StoreError: The text is not a single SELECT statement, or DuckDB rejected it.
        """
        with self._cursor() as cur:
            _check_select(cur, sql)
            cur.begin()
            try:
                frame = cur.sql(sql, params=params).limit(limit + 1).df()
            except duckdb.Error as err:
                raise StoreError(f"query failed: {_first_line(err)}") from err
            finally:
                cur.rollback()
        frame.attrs["truncated"] = len(frame) > limit
        return frame.head(limit)


@contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block did, or roll all of it back if the block raised."""
    cur.begin()
    try:
        yield
    except BaseException:
        cur.rollback()
        raise
    cur.commit()


def _check_select(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as err:
        raise StoreError(f"query rejected: {_first_line(err)}") from err
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise StoreError("query rejected: only a single SELECT or WITH statement is allowed")


def _upsert(cur: duckdb.DuckDBPyConnection, name: str, key: str) -> None:
    if _primary_key(cur, name) != key:
        raise StoreError(f"table {name!r} is not keyed by {key!r}; write it to a new store")
    have = {row[0] for row in cur.execute(f'DESCRIBE "{name}"').fetchall()}
    for column, dtype, *_ in cur.execute("DESCRIBE _incoming").fetchall():
        if column not in have:
            cur.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {dtype}')
    cur.execute(f'INSERT OR REPLACE INTO "{name}" BY NAME SELECT * FROM _incoming')


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Convert ``frame``, typing all-null columns as strings (DuckDB cannot store type NULL)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = pa.schema([
        field.with_type(pa.string()) if pa.types.is_null(field.type) else field
        for field in table.schema
    ])
    return table.cast(schema)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or name in _RESERVED:
        raise ValueError(f"not a usable table name: {name!r}")


def _check_key(frame: pd.DataFrame, key: str) -> None:
    if key not in frame.columns:
        raise ValueError(f"key column {key!r} is not in the frame")
    if frame[key].isna().any() or frame[key].duplicated().any():
        raise ValueError(f"key column {key!r} has missing or repeated values")


def _table_names(cur: duckdb.DuckDBPyConnection) -> set[str]:
    rows = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
    return {row[0] for row in rows.fetchall()}


def _primary_key(cur: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = cur.execute(
        "SELECT constraint_column_names FROM duckdb_constraints()"
        " WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [name],
    ).fetchone()
    return row[0][0] if row else None


def _list_column_to_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """Turn a list<float> column of equal-length rows into a 2-D float32 array."""
    lists = column.combine_chunks()
    if len(lists) == 0:
        return np.empty((0, 0), dtype=np.float32)
    lengths = pc.list_value_length(lists)
    dim = pc.min(lengths).as_py()
    if dim != pc.max(lengths).as_py():
        raise StoreError("embedding cache holds vectors of mixed length for one model")
    return lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
