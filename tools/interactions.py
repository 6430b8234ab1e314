"""What recommenders learn from: the item catalogue, what each user has seen, interactions.

An interaction is one event that names an item: ``user``, ``item``, ``timestamp`` (tz-aware UTC,
NaT when unknown) and ``is_positive`` (the user showed they liked it). ``carve_validation`` splits
interactions by time to validate a recommender on its own training data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.tools.name import excerpt
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

logger = logging.getLogger(__name__)

CATALOGUE_COLUMNS: tuple[str, ...] = ("item_id", "item_text", "n_events", "is_event_item",
                                      "category", "date")
N_TEXTS_PER_ITEM = 3  # event texts joined into an item's text when the item has none
ITEM_TEXT_WIDTH = 500

INTERACTION_COLUMNS: tuple[str, ...] = ("user", "item", "timestamp", "is_positive")
POSITIVE_EVENT_TYPES = frozenset({
    "liked", "like", "favorite", "favourite", "purchase", "buy", "order", "answer", "comment",
    "upvote", "save", "bookmark", "share",
})
SENTIMENT_EVENT_TYPES = frozenset({"review"})  # positive when their sentiment is > 0


def build_item_catalogue(events: pd.DataFrame) -> pd.DataFrame:
    """Return the recommendable items, one row each, in order of first appearance.

    When any event names an item, the items are those ids; an item's text is its ``item_text``
    or else its first few event texts joined. When none does (e.g. plain reviews), each event is
    itself a content item (``is_event_item`` True). An item's ``date`` is its first event's time
    (NaT when unknown); events give no ``category`` ("").
    """
    item_ids = _blank_to_na(events[ITEM_ID]) if ITEM_ID in events else None
    times = (pd.to_datetime(events[TIMESTAMP], utc=True) if TIMESTAMP in events
             else pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns, UTC]"))
    if item_ids is None or item_ids.isna().all():
        frame = events[[EVENT_ID, TEXT]].assign(date=times).drop_duplicates(EVENT_ID)
        catalogue = pd.DataFrame({
            "item_id": frame[EVENT_ID].astype(str).to_numpy(),
            "item_text": frame[TEXT].fillna("").astype(str).to_numpy(),
            "n_events": np.ones(len(frame), dtype=np.int64),
            "is_event_item": np.ones(len(frame), dtype=bool),
            "category": "",
            "date": frame["date"].array,
        })
        logger.info("no item ids: %d events serve as content items", len(catalogue))
        return catalogue
    given = _blank_to_na(events[ITEM_TEXT]) if ITEM_TEXT in events else pd.NA
    frame = pd.DataFrame({"item_id": item_ids, "given": given, "time": times,
                          "text": events[TEXT].fillna("").astype(str)}).dropna(subset=["item_id"])
    grouped = frame.groupby("item_id", sort=False)
    counts = grouped.size()
    texts = grouped["given"].first().reindex(counts.index)
    untitled = frame[frame["item_id"].isin(texts.index[texts.isna()])
                     & (frame["text"].str.strip() != "")]
    joined = (untitled.groupby("item_id", sort=False).head(N_TEXTS_PER_ITEM)
              .groupby("item_id", sort=False)["text"]
              .agg(lambda texts: excerpt(" / ".join(texts), ITEM_TEXT_WIDTH)))
    texts = texts.fillna(joined.reindex(counts.index)).fillna("")
    logger.info("item catalogue: %d items from %d events", len(counts), len(frame))
    return pd.DataFrame({
        "item_id": counts.index.astype(str).to_numpy(),
        "item_text": texts.astype(str).to_numpy(),
        "n_events": counts.to_numpy(dtype=np.int64),
        "is_event_item": np.zeros(len(counts), dtype=bool),
        "category": "",
        "date": grouped["time"].min().reindex(counts.index).array,
    })


def _blank_to_na(values: pd.Series) -> pd.Series:
    """Return ``values`` as stripped strings, with blanks and missing values as NA."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def seen_items(events: pd.DataFrame, catalogue: pd.DataFrame) -> dict[str, set[str]]:
    """Return each user's interacted catalogue items (their own events in event-item mode).

    Every user in ``events`` is a key, with an empty set when they touched no catalogue item.
    """
    seen: dict[str, set[str]] = {str(user): set() for user in events[USER].unique()}
    if catalogue.empty:
        return seen
    is_event_mode = bool(catalogue["is_event_item"].all())
    items = events[EVENT_ID] if is_event_mode else _blank_to_na(events[ITEM_ID])
    known = items.isin(set(catalogue["item_id"])).to_numpy(dtype=bool)
    users = events[USER][known].astype(str).tolist()
    for user, item in zip(users, items[known].astype(str).tolist(), strict=True):
        seen[user].add(item)
    return seen


def interactions_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """Return the event rows that name an item, as ``INTERACTION_COLUMNS``.

    An interaction is positive when its event type is in ``POSITIVE_EVENT_TYPES`` (case-blind), or
    in ``SENTIMENT_EVENT_TYPES`` with a sentiment above 0. Events without an item are left out.
    """
    if ITEM_ID not in events:
        return pd.DataFrame({name: [] for name in INTERACTION_COLUMNS})
    items = events[ITEM_ID].astype("string").str.strip()
    kinds = events[EVENT_TYPE].astype("string").str.strip().str.lower()
    positive = kinds.isin(POSITIVE_EVENT_TYPES)
    if SENTIMENT in events:
        positive |= kinds.isin(SENTIMENT_EVENT_TYPES) & (events[SENTIMENT] > 0)
    times = events[TIMESTAMP] if TIMESTAMP in events else pd.Series(pd.NaT, index=events.index)
    frame = pd.DataFrame({"user": events[USER], "item": items,
                          "timestamp": pd.to_datetime(times, utc=True),
                          "is_positive": positive.fillna(False).astype(bool)})
    frame = frame[items.notna() & (items != "") & events[USER].notna()]
    return frame.astype({"user": str, "item": str}).reset_index(drop=True)


def carve_validation(interactions: pd.DataFrame, *, train_fraction: float = 0.8,
                     ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Split each user's interactions by time: the oldest ``train_fraction`` (at least 1) train.

    Ties in time are broken by item id; unknown times sort last, in input order.

    Returns:
        The training interactions, and per user with any the held-out *positive* items that user
        did not interact with in training (the items a recommender should find).
    """
    frame = interactions.assign(_order=np.arange(len(interactions)))
    frame = frame.sort_values(["user", "timestamp", "item", "_order"], kind="stable",
                              na_position="last")
    sizes = frame.groupby("user", sort=False)["item"].transform("size").to_numpy()
    n_train = np.maximum(1, np.floor(train_fraction * sizes + 1e-9))
    is_train = frame.groupby("user", sort=False).cumcount().to_numpy() < n_train
    train, held = frame[is_train], frame[~is_train & frame["is_positive"].to_numpy(dtype=bool)]
    trained = pd.MultiIndex.from_frame(train[["user", "item"]])
    held = held[~pd.MultiIndex.from_frame(held[["user", "item"]]).isin(trained)]
    targets = {str(user): np.array(sorted(set(items)), dtype=object)
               for user, items in held.groupby("user", sort=True)["item"]}
    return train.sort_values("_order").drop(columns="_order").reset_index(drop=True), targets


def binary_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Return a 0/1 CSR matrix with a 1 at each (row, col) pair."""
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    matrix.data[:] = 1.0
    return matrix


def epoch_seconds(times: pd.Series) -> np.ndarray:
    """Return UTC seconds since 1970 as floats, NaN where the time is unknown."""
    stamps = pd.to_datetime(times, utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
        dtype=np.float64, na_value=np.nan)


def seen_matrix(users: list[str], seen: Mapping[str, set[str]],
                item_ids: np.ndarray) -> sp.csr_matrix:
    """Return users x items, 1.0 at the catalogue items listed in ``seen`` for each user."""
    index = pd.Index(item_ids)
    rows, cols = [], []
    for n, user in enumerate(users):
        if not seen.get(user):
            continue
        found = index.get_indexer(list(seen[user]))
        cols += found[found >= 0].tolist()
        rows += [n] * int((found >= 0).sum())
    return binary_matrix(np.array(rows, dtype=int), np.array(cols, dtype=int),
                         (len(users), len(item_ids)))


def select_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Return ``matrix[rows]`` as float32, with an empty row wherever ``rows`` is -1."""
    if matrix.shape[0] == 0:
        return sp.csr_matrix((len(rows), matrix.shape[1]), dtype=np.float32)
    picked = sp.csr_matrix(matrix[np.maximum(rows, 0)], dtype=np.float32)
    return picked if (rows >= 0).all() else sp.csr_matrix(sp.diags((rows >= 0) * 1.0) @ picked,
                                                          dtype=np.float32)
