"""``StoreRecommender``: the hybrid when events name items, the store's nearest items otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestlens.agent.recommender import PARAMS_ARTIFACT, StoreRecommender
from interestlens.tools.errors import ConfigError
from interestlens.tools.evidence import SEGMENT
from interestlens.tools.records import (
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    ITEM_TEXT,
    SENTIMENT,
    TEXT,
    TIMESTAMP,
    USER,
)
from interestlens.vectorstore import Store
from interestlens.vectorstore.artifacts import load_artifact

N_ITEMS = 12


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store") as opened:
        yield opened


def item_events(seed: int = 0) -> pd.DataFrame:
    """Two taste groups over 12 items; u0..u14 like items 0-5, u15..u29 like items 6-11."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(30):
        group = range(6) if user < 15 else range(6, 12)
        for n, item in enumerate(rng.choice(list(group), size=4, replace=False)):
            rows.append((f"e{user}-{n}", f"u{user}", f"2024-01-{n + 1:02d}", "liked",
                         f"note {item}", f"i{item}", f"Item {item} | group {item // 6}", 0.5,
                         "S1" if user < 15 else "S2"))
    rows.append(("e-new", "newbie", "2024-01-09", "liked", "note", "i0", "Item 0 | group 0",
                 0.5, "S2"))
    frame = pd.DataFrame(rows, columns=[EVENT_ID, USER, TIMESTAMP, EVENT_TYPE, TEXT, ITEM_ID,
                                        ITEM_TEXT, SENTIMENT, SEGMENT])
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP], utc=True)
    return frame


def index_items(store: Store, recommender: StoreRecommender) -> None:
    """Store one-hot-by-group vectors for the catalogue, as ``index_items`` would embed them."""
    ids = recommender.catalogue[ITEM_ID].tolist()
    vectors = np.array([[1.0, 0.0] if int(i[1:]) < 6 else [0.0, 1.0] for i in ids])
    store.upsert_vectors("items", ids, vectors)


def test_item_events_are_ranked_by_the_tuned_hybrid_with_evidence(store):
    events = item_events()
    recommender = StoreRecommender(store, events, {"u0": ["group"]}, tune=True)
    index_items(store, recommender)
    assert recommender.is_hybrid and recommender.n_items == N_ITEMS
    users = [f"u{n}" for n in range(30)]
    frame = recommender.rank(users, np.zeros((30, 2)), k=2)
    seen = set(zip(events[USER], events[ITEM_ID]))
    assert not any((u, i) in seen for u, i in zip(frame["user"], frame["item"]))
    group = frame["item"].str[1:].astype(int) // 6
    assert (group == (frame["user"].str[1:].astype(int) >= 15)).mean() > 0.9
    assert frame["evidence"].str.len().gt(0).all()
    assert isinstance(load_artifact(store.path, PARAMS_ARTIFACT), dict)


def test_a_later_session_reuses_the_saved_weights(store):
    events = item_events()
    first = StoreRecommender(store, events, {}, tune=True)
    index_items(store, first)
    ranked = first.rank(["u1", "u20"], np.zeros((2, 2)), k=3)
    again = StoreRecommender(store, events, {})
    assert again.hybrid().get_params() == first.hybrid().get_params()
    records = again.for_owner("u1", np.zeros(2), 3)
    assert [r.item_id for r in records] == ranked[ranked["user"] == "u1"]["item"].tolist()
    assert records[0].evidence and records[0].reason


def test_cold_start_user_and_segment_get_segment_level_picks(store):
    recommender = StoreRecommender(store, item_events(), {}, tune=False)
    index_items(store, recommender)
    cold = recommender.for_owner("newbie", np.zeros(2), 2)
    assert "cold start" in cold[0].evidence and "segment S2" in cold[0].reason
    segment = recommender.for_segment("S2", np.zeros(2), 3)
    assert all(int(r.item_id[1:]) >= 6 for r in segment)
    assert "popular in segment S2" in segment[0].reason


def test_events_without_items_use_the_nearest_events(store):
    events = pd.DataFrame({EVENT_ID: ["a", "b", "c"], USER: ["u", "v", "w"],
                           TEXT: ["espresso grinder", "tea kettle", "espresso beans"],
                           EVENT_TYPE: "review", ITEM_ID: None, ITEM_TEXT: None})
    store.upsert_vectors("events", ["a", "b", "c"], np.array([[1.0, 0], [0, 1.0], [0.9, 0.1]]))
    recommender = StoreRecommender(store, events, {"u": ["espresso"]}, tune=True)
    assert not recommender.is_hybrid
    frame = recommender.rank(["u"], np.array([[1.0, 0.0]]), k=1)
    assert frame["item"].tolist() == ["w"]  # its own event "a" is seen; one event per user:
    # document mode, so a row is shown under its own id, not its event hash
    assert frame["reason"].iloc[0].startswith('matches your interests "espresso"')
    store.upsert_vectors("users", ["u"], np.array([[1.0, 0.0]]))
    pd.testing.assert_frame_equal(recommender.rank(["u"], None, k=1), frame)  # read from "users"


class GroupEncoder:
    """Stands in for ``FusedEncoder``: "group 0" texts point one way, the others the other."""

    def encode(self, texts, store, progress=None):
        return np.array([[1.0, 0.0] if "group 0" in t else [0.0, 1.0] for t in texts]), 0


def catalogue_for(events):
    """The merged catalogue with a file's categories (odd/even) and dates (item n: 2020 + n)."""
    from interestlens.tools.catalogue import merge_catalogue

    file_items = pd.DataFrame({
        "item_id": [f"i{n}" for n in range(N_ITEMS + 1)],
        "item_text": [f"Item {n} | group {n // 6}" for n in range(N_ITEMS + 1)],
        "category": ["odd" if n % 2 else "even" for n in range(N_ITEMS + 1)],
        "date": pd.to_datetime([f"{2000 + n}-06-01" for n in range(N_ITEMS + 1)], utc=True)})
    return merge_catalogue(events, file_items)


def test_filters_apply_to_users_and_segments_and_survive_a_new_session(store):
    from interestlens.tools.catalogue import ItemFilter

    events = item_events()
    first = StoreRecommender(store, events, {}, catalogue=catalogue_for(events), tune=True)
    first.index_items(GroupEncoder())
    store.write_table("events", events, key=None)  # as the pipeline stores the run
    assert first.n_items == N_ITEMS + 1  # i12 is in the file only: no events yet
    odd = ItemFilter(category="ODD")
    picks = first.for_owner("u0", np.zeros(2), 3, item_filter=odd)
    assert len(picks) == 3 and all(int(r.item_id[1:]) % 2 for r in picks)
    assert all(r.evidence for r in picks)
    later = StoreRecommender.from_store(store, {})
    recent = later.for_segment("S1", np.zeros(2), 2, item_filter=ItemFilter(since="2010-01-01"))
    assert [int(r.item_id[1:]) >= 10 for r in recent] == [True, True]
    assert recent[0].level == "segment"
    with pytest.raises(ConfigError, match=r"unknown category.*known: even, odd"):
        later.for_owner("u0", np.zeros(2), 3, item_filter=ItemFilter(category="prime"))
    with pytest.raises(ConfigError, match=r"no item passes the filters \(--since 2030-01-01"):
        later.rank(["u0"], np.zeros((1, 2)), 3, item_filter=ItemFilter(since="2030-01-01"))


def test_a_later_session_loads_the_saved_item_vectors_unless_the_catalogue_changed(
        store, monkeypatch):
    events = item_events()
    catalogue = catalogue_for(events)
    first = StoreRecommender(store, events, {}, catalogue=catalogue, tune=True)
    first.index_items(GroupEncoder())
    store.write_table("events", events, key=None)
    expected = first.rank(["u0", "u20", "newbie"], None, 3)  # hybrid: no profile vectors needed
    asked = []
    monkeypatch.setattr(store, "get_vectors",
                        lambda name, ids: asked.append(name) or Store.get_vectors(store, name, ids))
    later = StoreRecommender.from_store(store, {})
    pd.testing.assert_frame_equal(later.rank(["u0", "u20", "newbie"], None, 3), expected)
    assert asked == []  # neither item nor user vectors were read from Chroma
    store.write_table("items", catalogue.assign(item_text=catalogue["item_text"] + " (new)"),
                      key=None)
    StoreRecommender.from_store(store, {}).hybrid()
    assert asked == ["items"]


def test_content_mode_filters_by_event_date(store):
    events = pd.DataFrame({EVENT_ID: ["a", "b", "c", "d"], USER: ["u", "v", "w", "x"],
                           TEXT: ["espresso grinder", "tea kettle", "espresso beans",
                                  "espresso cups"],
                           TIMESTAMP: pd.to_datetime(["2020-01-01", "2021-01-01", "2019-01-01",
                                                      "2022-01-01"], utc=True),
                           EVENT_TYPE: "review", ITEM_ID: None, ITEM_TEXT: None})
    store.upsert_vectors("events", list("abcd"),
                         np.array([[1.0, 0], [0, 1.0], [0.9, 0.1], [0.7, 0.3]]))
    recommender = StoreRecommender(store, events, {}, tune=True)
    from interestlens.tools.catalogue import ItemFilter

    frame = recommender.rank(["u"], np.array([[1.0, 0.0]]), k=2,
                             item_filter=ItemFilter(since="2020-06-01"))
    assert frame["item"].tolist() == ["x", "v"]  # "c" (w) is closer but too old; "a" is u's own
    assert (frame["level"] == "content").all()


def test_document_mode_shows_recommended_rows_under_their_own_ids(store):
    events = pd.DataFrame({EVENT_ID: ["h1", "h2", "h3"], USER: ["r-10", "r-11", "r-12"],
                           TEXT: ["espresso grinder", "tea kettle", "espresso beans"],
                           EVENT_TYPE: "review", ITEM_ID: None, ITEM_TEXT: None})
    store.upsert_vectors("events", ["h1", "h2", "h3"], np.array([[1.0, 0], [0, 1.0], [0.9, 0.1]]))
    recommender = StoreRecommender(store, events, {"r-10": ["espresso"]})
    picks = recommender.for_owner("r-10", np.array([1.0, 0.0]), 2)
    assert [(r.item_id, r.item_text) for r in picks] == [("r-12", "espresso beans"),
                                                         ("r-11", "tea kettle")]
    from interestlens.tools.catalogue import ItemFilter

    since = ItemFilter(since="2000-01-01")
    events[TIMESTAMP] = pd.to_datetime("2020-01-01", utc=True)
    filtered = StoreRecommender(store, events, {}).rank(["r-10"], np.array([[1.0, 0.0]]), 2,
                                                         item_filter=since)
    assert filtered["item"].tolist() == ["r-12", "r-11"]  # never the row itself
    users = events.assign(**{USER: ["u", "u", "v"]})  # a user with two texts: not documents
    assert StoreRecommender(store, users, {}).rank(["v"], np.array([[1.0, 0.0]]), 1)[
        "item"].tolist() == ["h1"]


def test_a_later_session_counts_documents_added_after_the_run(store):
    events = pd.DataFrame({EVENT_ID: ["h1", "h2"], USER: ["r-10", "r-11"],
                           TEXT: ["espresso grinder", "tea kettle"], EVENT_TYPE: "review",
                           ITEM_ID: None, ITEM_TEXT: None})
    store.upsert_vectors("events", ["h1", "h2"], np.array([[1.0, 0], [0, 1.0]]))
    StoreRecommender(store, events, {}, tune=True).index_items(GroupEncoder())
    added = pd.concat([events, events.iloc[:1].assign(**{EVENT_ID: "h3", USER: "r-12",
                                                         TEXT: "espresso beans"})])
    store.write_table("events", added, key=None)  # as ``update`` stores the new document
    store.upsert_vectors("events", ["h3"], np.array([[0.9, 0.1]]))
    picks = StoreRecommender.from_store(store, {}).for_owner("r-12", np.array([0.9, 0.1]), 1)
    assert [(r.item_id, r.item_text) for r in picks] == [("r-10", "espresso grinder")]
