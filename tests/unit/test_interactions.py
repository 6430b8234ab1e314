import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from interestlens.tools.interactions import (
    CATALOGUE_COLUMNS,
    INTERACTION_COLUMNS,
    build_item_catalogue,
    carve_validation,
    epoch_seconds,
    interactions_from_events,
    seen_items,
    seen_matrix,
    select_rows,
)
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


def events(rows):
    return pd.DataFrame(rows, columns=[EVENT_ID, USER, TEXT, ITEM_ID, ITEM_TEXT])


ITEM_EVENTS = events([
    ("e1", "u1", "great espresso", "i1", "Espresso machine"),
    ("e2", "u2", "too loud", "i1", None),
    ("e3", "u2", "fresh beans", "i2", None),
    ("e4", "u3", "smells nice", "i2", ""),
    ("e5", "u3", "no item here", None, None),
])


def test_catalogue_from_item_ids_uses_item_text_or_joined_event_texts():
    catalogue = build_item_catalogue(ITEM_EVENTS)
    assert list(catalogue.columns) == list(CATALOGUE_COLUMNS)
    assert catalogue["item_id"].tolist() == ["i1", "i2"]
    assert catalogue["item_text"].tolist() == ["Espresso machine", "fresh beans / smells nice"]
    assert catalogue["n_events"].tolist() == [2, 2]
    assert not catalogue["is_event_item"].any()


def test_long_joined_item_text_is_truncated():
    rows = [(f"e{i}", "u", "word " * 100, "i1", None) for i in range(3)]
    text = build_item_catalogue(events(rows))["item_text"].iloc[0]
    assert len(text) <= 500 and text.endswith("…")


@pytest.mark.parametrize("drop_item_column", [False, True])
def test_without_item_ids_the_events_are_the_items(drop_item_column):
    frame = events([("e1", "u1", "手机很好", None, None), ("e2", "u2", "screen broke", None, None),
                    ("e1", "u1", "手机很好", None, None)])
    if drop_item_column:
        frame = frame.drop(columns=[ITEM_ID, ITEM_TEXT])
    catalogue = build_item_catalogue(frame)
    assert catalogue["item_id"].tolist() == ["e1", "e2"]
    assert catalogue["item_text"].tolist() == ["手机很好", "screen broke"]
    assert catalogue["is_event_item"].all()
    assert seen_items(frame, catalogue) == {"u1": {"e1"}, "u2": {"e2"}}


def test_seen_items_in_item_mode_lists_each_users_items():
    seen = seen_items(ITEM_EVENTS, build_item_catalogue(ITEM_EVENTS))
    assert seen == {"u1": {"i1"}, "u2": {"i1", "i2"}, "u3": {"i2"}}


def test_interactions_keep_item_events_and_mark_positive_ones():
    frame = pd.DataFrame({
        USER: ["a", "a", "b", "b", "c", None],
        ITEM_ID: ["i1", " i2 ", "i1", "", "i3", "i4"],
        EVENT_TYPE: ["Liked", "review", "review", "purchase", "browse", "liked"],
        SENTIMENT: [0.0, 0.6, -0.2, 0.9, 0.9, 0.9],
        TIMESTAMP: pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-03",
                                   "2024-01-04", "2024-01-05"], utc=True),
    })
    out = interactions_from_events(frame)
    assert list(out.columns) == list(INTERACTION_COLUMNS)
    assert list(zip(out["user"], out["item"], out["is_positive"], strict=True)) == [
        ("a", "i1", True), ("a", "i2", True), ("b", "i1", False), ("c", "i3", False)]
    assert out["timestamp"].isna().tolist() == [False, False, True, False]


def test_interactions_without_an_item_column_are_empty():
    out = interactions_from_events(ITEM_EVENTS.drop(columns=[ITEM_ID]))
    assert out.empty and list(out.columns) == list(INTERACTION_COLUMNS)


def interactions(rows):
    """Rows are (user, item, day, is_positive)."""
    frame = pd.DataFrame(rows, columns=["user", "item", "day", "is_positive"])
    frame["timestamp"] = pd.to_datetime(frame.pop("day"), unit="D", utc=True)
    return frame[list(INTERACTION_COLUMNS)]


def test_carve_keeps_the_oldest_80_percent_and_targets_unseen_positives():
    rows = [("a", f"i{n}", 10 - n, n != 1) for n in range(5)]  # i4 oldest, i0 newest
    rows += [("a", "i4", 11, True), ("b", "i0", 1, True), ("b", "i9", 2, False)]
    train, targets = carve_validation(interactions(rows))
    assert sorted(train[train["user"] == "a"]["item"]) == ["i1", "i2", "i3", "i4"]
    assert targets["a"].tolist() == ["i0"]  # i4 again is seen, not a target
    assert "b" not in targets  # b's held-out interaction is not positive
    assert train[train["user"] == "b"]["item"].tolist() == ["i0"]


def test_epoch_seconds_keep_unknown_times_as_nan():
    seconds = epoch_seconds(pd.Series(pd.to_datetime(["1970-01-02", None], utc=True)))
    assert seconds[0] == 86_400.0 and np.isnan(seconds[1])


def test_seen_matrix_and_select_rows():
    seen = seen_matrix(["u", "v"], {"u": {"b", "zz"}}, np.array(["a", "b"], dtype=object))
    assert seen.toarray().tolist() == [[0, 1], [0, 0]]
    matrix = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    assert select_rows(matrix, np.array([1, -1, 0])).toarray().tolist() == [
        [0, 2], [0, 0], [1, 0]]
