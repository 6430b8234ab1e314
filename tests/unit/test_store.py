import json
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from interestlens.tools.errors import StoreError
from interestlens.vectorstore import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store") as opened:
        yield opened


def unit_vectors(n, dim=16, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def events(ids, texts):
    return pd.DataFrame({
        "event_id": ids,
        "user": ["u1"] * len(ids),
        "timestamp": pd.to_datetime(["2024-05-01T08:00:00Z"] * len(ids), utc=True),
        "text": texts,
    })


# ---- embedding cache ---------------------------------------------------------------------------

def test_embedding_cache_round_trips_exact_floats(store):
    vectors = np.random.default_rng(1).normal(size=(50, 384)).astype(np.float32)
    hashes = [f"h{i}" for i in range(50)]
    store.save_embeddings("model-a", hashes, vectors)
    found = store.cached_embeddings("model-a", [*hashes[10:20], "unknown"])
    assert sorted(found) == sorted(hashes[10:20])
    for i in range(10, 20):
        assert np.array_equal(found[f"h{i}"], vectors[i])
    assert store.cached_embeddings("model-b", hashes) == {}


def test_embedding_cache_keeps_the_first_vector_of_a_hash(store):
    first, second = unit_vectors(2, dim=4)
    store.save_embeddings("m", ["h", "h"], np.vstack([first, second]))
    store.save_embeddings("m", ["h"], second[None, :])
    assert np.array_equal(store.cached_embeddings("m", ["h"])["h"], first)


# ---- tables ------------------------------------------------------------------------------------

def test_writing_the_same_rows_twice_gives_the_same_table(store):
    frame = events(["e2", "e1", "e3"], ["b", "a", "c"])
    store.write_table("events", frame, key="event_id")
    once = store.read_table("events")
    store.write_table("events", frame, key="event_id")
    twice = store.read_table("events")
    pd.testing.assert_frame_equal(once, twice)
    assert list(twice["event_id"]) == ["e1", "e2", "e3"]
    assert str(twice["timestamp"].dt.tz) == "UTC"


def test_reading_some_columns_keeps_those_the_table_has_in_key_order(store):
    store.write_table("events", events(["e2", "e1"], ["b", "a"]), key="event_id")
    some = store.read_table("events", ["text", "event_id", "not_a_column"])
    assert list(some.columns) == ["event_id", "text"] and list(some["text"]) == ["a", "b"]
    with pytest.raises(ValueError, match="none of the columns"):
        store.read_table("events", ["not_a_column"])


def test_upsert_replaces_by_key_and_adds_new_columns(store):
    store.write_table("events", events(["e1", "e2"], ["old", "b"]), key="event_id")
    update = events(["e1", "e9"], ["new", "z"]).assign(language=["en", "zh"])
    store.write_table("events", update, key="event_id")
    table = store.read_table("events").set_index("event_id")
    assert list(table.index) == ["e1", "e2", "e9"]
    assert table.loc["e1", "text"] == "new"
    assert table.loc["e9", "language"] == "zh"
    assert pd.isna(table.loc["e2", "language"])


def test_a_column_first_seen_all_null_can_take_text_later(store):
    store.write_table("events", events(["e1"], ["a"]).assign(item_id=[None]), key="event_id")
    store.write_table("events", events(["e2"], ["b"]).assign(item_id=["i7"]), key="event_id")
    assert store.read_table("events")["item_id"].tolist()[1] == "i7"


def test_table_without_key_is_replaced_whole(store):
    store.write_table("recommendations", pd.DataFrame({"user": ["a", "b"], "rank": [1, 1]}), None)
    store.write_table("recommendations", pd.DataFrame({"user": ["c"], "rank": [1]}), None)
    assert list(store.read_table("recommendations")["user"]) == ["c"]


def test_bad_keys_and_names_are_refused(store):
    with pytest.raises(ValueError, match="repeated"):
        store.write_table("events", events(["e1", "e1"], ["a", "b"]), key="event_id")
    with pytest.raises(ValueError, match="table name"):
        store.write_table("runs", events(["e1"], ["a"]), key="event_id")
    with pytest.raises(StoreError, match="no table 'segments'"):
        store.read_table("segments")


def test_runs_are_numbered_and_keep_their_summary(store):
    assert store.record_run({"n_events": 10, "mode": "extractive"}) == 1
    assert store.record_run({"n_events": 12}) == 2
    runs = store.runs()
    assert list(runs["run_id"]) == [1, 2]
    assert json.loads(runs["summary"][0]) == {"mode": "extractive", "n_events": 10}
    assert str(runs["finished_at"].dt.tz) == "UTC"
    assert (runs["finished_at"] >= runs["started_at"]).all()


def test_everything_survives_close_and_reopen(tmp_path):
    path = tmp_path / "store"
    vectors = unit_vectors(5)
    with Store(path) as store:
        store.write_table("users", pd.DataFrame({"user": ["u1", "u2"], "n_events": [3, 4]}), "user")
        store.save_embeddings("m", ["h1"], vectors[:1])
        store.upsert_vectors("users", [f"u{i}" for i in range(5)], vectors)
        store.record_run({"ok": True})
    with Store(path) as store:
        assert list(store.read_table("users")["n_events"]) == [3, 4]
        assert np.array_equal(store.cached_embeddings("m", ["h1"])["h1"], vectors[0])
        assert store.count("users") == 5
        np.testing.assert_allclose(store.get_vectors("users", ["u3"]), vectors[3:4], atol=1e-6)
        assert len(store.runs()) == 1


# ---- read-only SQL -----------------------------------------------------------------------------

def test_query_reads_with_parameters_and_row_limit(store):
    store.write_table("events", events(["e1", "e2", "e3"], ["a", "b", "c"]), key="event_id")
    picked = store.query("SELECT event_id FROM events WHERE text > ? ORDER BY event_id", ["a"])
    assert list(picked["event_id"]) == ["e2", "e3"]
    assert not picked.attrs["truncated"]
    cut = store.query("WITH t AS (SELECT * FROM events) SELECT * FROM t ORDER BY event_id DESC",
                      limit=2)
    assert list(cut["event_id"]) == ["e3", "e2"]
    assert cut.attrs["truncated"]


@pytest.mark.parametrize("sql", [
    "INSERT INTO events (event_id) VALUES ('x')",
    "DROP TABLE events",
    "SELECT 1; DROP TABLE events",
    "DELETE FROM events",
    "COPY events TO 'out.csv'",
    "ATTACH 'other.duckdb'",
])
def test_query_rejects_anything_but_one_select(store, sql):
    store.write_table("events", events(["e1"], ["a"]), key="event_id")
    with pytest.raises(StoreError, match="query rejected"):
        store.query(sql)
    assert len(store.read_table("events")) == 1


def test_query_cannot_read_files(store):
    with pytest.raises(StoreError, match="query failed"):
        store.query("SELECT * FROM read_csv('/etc/hostname')")


# ---- locking and damage ------------------------------------------------------------------------

def test_store_held_by_another_process_is_a_store_error(tmp_path):
    path = tmp_path / "store"
    Store(path).open().close()
    holder = subprocess.Popen(  # holds the database file open, as a running store would
        [sys.executable, "-c",
         "import sys, duckdb;"
         f"db = duckdb.connect({str(path / 'interestlens.duckdb')!r});"
         "print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another process") as caught:
            Store(path).open()
        assert str(caught.value).startswith(str(path))
    finally:
        holder.communicate("", timeout=60)


def test_corrupt_database_file_is_named(tmp_path):
    path = tmp_path / "store"
    Store(path).open().close()
    (path / "interestlens.duckdb").write_bytes(b"not a database" * 500)
    with pytest.raises(StoreError, match=r"interestlens\.duckdb"):
        Store(path).open()


def test_corrupt_vector_database_is_a_store_error(tmp_path):
    path = tmp_path / "store"
    with Store(path) as store:
        store.upsert_vectors("users", ["a"], unit_vectors(1))
    (path / "chroma" / "chroma.sqlite3").write_bytes(b"not a database" * 500)
    with Store(path) as store, pytest.raises(StoreError, match="chroma"):
        store.count("users")


def test_foreign_folder_is_not_taken_over(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an InterestLens store"):
        Store(tmp_path).open()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_folder_with_only_subfolders_becomes_a_store(tmp_path):
    (tmp_path / "llm_cache").mkdir()
    Store(tmp_path).open().close()
    assert (tmp_path / "store.json").is_file()
    Store(tmp_path).open().close()


def test_opening_a_missing_store_for_reading_creates_nothing(tmp_path):
    with pytest.raises(StoreError, match=r"missing: no InterestLens store here; run "
                                         r"`interestlens run` into this store first"):
        Store(tmp_path / "missing").open(create=False)
    assert not (tmp_path / "missing").exists()
    Store(tmp_path / "missing").open().close()
    with Store(tmp_path / "missing").open(create=False) as store:
        assert store.exists()


def test_a_store_is_blank_until_something_is_written(store):
    assert store.is_blank()
    store.record_run({"n_users": 1})
    assert not store.is_blank()


def test_closed_store_refuses_work(tmp_path):
    store = Store(tmp_path / "store")
    with pytest.raises(StoreError, match="not open"):
        store.runs()


# ---- vectors -----------------------------------------------------------------------------------

def test_nearest_finds_itself_then_the_true_neighbour(store):
    vectors = unit_vectors(40)
    ids = [f"u{i}" for i in range(40)]
    store.upsert_vectors("users", ids, vectors)
    found, similarity = store.nearest("users", vectors[:3], 2)
    exact = np.argsort(-(vectors[:3] @ vectors.T), axis=1)[:, :2]
    assert found == [[ids[j] for j in row] for row in exact]
    np.testing.assert_allclose(similarity[:, 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(similarity[:, 1], (vectors[:3] * vectors[exact[:, 1]]).sum(1),
                               atol=1e-5)


def test_nearest_with_n_beyond_the_collection_returns_all(store):
    store.upsert_vectors("items", ["a", "b", "c"], unit_vectors(3))
    found, similarity = store.nearest("items", unit_vectors(2, seed=5), 10)
    assert [sorted(row) for row in found] == [["a", "b", "c"]] * 2
    assert similarity.shape == (2, 3)
    assert (np.diff(similarity, axis=1) <= 1e-6).all()


def test_nearest_on_an_empty_collection(store):
    found, similarity = store.nearest("segments", unit_vectors(2), 5)
    assert found == [[], []]
    assert similarity.shape == (2, 0)


def test_metadata_is_cleaned_and_filterable(store):
    metadatas = [
        {"segment": np.int64(1), "score": np.float32(0.5), "item": None},
        {"segment": 2, "when": pd.Timestamp("2024-01-01", tz="UTC"), "x": float("nan")},
        {},
    ]
    store.upsert_vectors("users", ["a", "b", "c"], unit_vectors(3), metadatas,
                         documents=["doc a", None, "doc c"])
    found, similarity = store.nearest("users", unit_vectors(1, seed=9), 3, where={"segment": 1})
    assert found == [["a"]]
    assert np.isnan(similarity[0, 1:]).all()


def test_upsert_is_idempotent_and_delete_missing_drops_the_rest(store):
    vectors = unit_vectors(6)
    ids = [f"e{i}" for i in range(6)]
    reported = []
    store.upsert_vectors("events", ids, vectors, progress=lambda *a: reported.append(a))
    store.upsert_vectors("events", ids, vectors)
    assert store.count("events") == 6
    assert reported[-1] == ("vectors:events", 6, 6)
    assert store.delete_missing("events", ids[:4]) == 2
    assert store.count("events") == 4
    np.testing.assert_allclose(store.get_vectors("events", ["e3", "e0"]), vectors[[3, 0]],
                               atol=1e-6)
    with pytest.raises(KeyError, match="e5"):
        store.get_vectors("events", ["e5"])


def test_vectors_of_another_dimension_are_a_store_error(store):
    store.upsert_vectors("items", ["a"], unit_vectors(1, dim=8))
    with pytest.raises(StoreError, match="dimension"):
        store.upsert_vectors("items", ["b"], unit_vectors(1, dim=4))


def test_replace_vectors_swaps_a_space_of_another_dimension_and_keeps_only_the_given_ids(store):
    store.upsert_vectors("items", ["a", "b"], unit_vectors(2, dim=8))
    new = unit_vectors(2, dim=4, seed=1)
    store.replace_vectors("items", ["b", "c"], new)
    assert store.count("items") == 2
    np.testing.assert_allclose(store.get_vectors("items", ["c"]), new[1:], atol=1e-6)
    store.replace_vectors("items", ["c"], unit_vectors(1, dim=4))  # same space: upsert, prune
    assert store.count("items") == 1


def test_no_embedding_model_and_no_network_are_ever_used(store, monkeypatch):
    from chromadb.api.types import DefaultEmbeddingFunction
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    def forbidden(*args, **kwargs):
        raise AssertionError("the store tried to embed or to reach the network")

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__init__", forbidden)
    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    vectors = unit_vectors(4)
    store.upsert_vectors("segments", ["s1", "s2", "s3", "s4"], vectors,
                         documents=["coffee lovers", "beer", "ai", "tea"])
    found, _ = store.nearest("segments", vectors[:1], 2)
    assert found[0][0] == "s1"
    assert store.get_vectors("segments", ["s2"]).shape == (1, 16)
