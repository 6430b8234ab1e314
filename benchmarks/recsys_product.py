"""The recommender benchmark's "InterestLens" row: the product, run on a split's training part.

``product_events`` rebuilds the training part as a user's export table: the product never sees a
test interaction, nor a note (MovieLens tag) written after its writer's split time. ``run_product``
feeds that table to ``Assistant.run`` (every stage: clean, embed, segment, tune, recommend) and
then, from the built store, times recommending for every user again, once tuning the weights
afresh and once with the weights the run saved. ``catalogue_file`` gives the dataset's item
catalogue as a user would pass it with ``--items``: MovieLens ``movies.csv``, or the site's
questions (title, body, tags as categories, creation date) for Stack Exchange.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.recsys_eval import MOVIELENS_NOTES, Split
from interestlens import Assistant
from interestlens.agent import Settings
from interestlens.agent.recommender import StoreRecommender
from interestlens.tools.connectors import load_movielens, load_stackexchange
from interestlens.tools.records import EVENT_TYPE, ITEM_ID, ITEM_TEXT, TEXT, TIMESTAMP, USER
from interestlens.vectorstore import Store

COLUMN_MAP = {"user": "user_id", "timestamp": "timestamp", "event_type": "event_type",
              "text": "text", "item_id": "item_id", "item_text": "item_title"}


@dataclass(frozen=True)
class ProductRun:
    """What the product did on the training events.

    Args:
        recommendations: The run's recommendations table (user, rank, item, score, reason, ...).
        run_s: Wall seconds of ``Assistant.run``.
        stage_seconds: The run's seconds per stage.
        recommend_s: From the built store, seconds to recommend for every user: read the events,
            tune the weights, fit, rank and explain.
        recommend_saved_s: The same with the weights the run saved (no tuning).
        recommend_cpu_s: CPU seconds of this process for each of the two (the machine may be
            shared: wall seconds then exceed the work done).
        is_deterministic: Both re-runs gave the run's recommendations again.
        weights: The tuned weights.
    """

    recommendations: pd.DataFrame
    run_s: float
    stage_seconds: dict[str, float]
    recommend_s: float
    recommend_saved_s: float
    recommend_cpu_s: tuple[float, float]
    is_deterministic: bool
    weights: dict


def product_events(folder: Path, split: Split) -> pd.DataFrame:
    """Return the training events of ``split`` in the shape of a user's export table.

    The connector's events for ``folder`` are kept when they are training interactions of the
    split (same user, item and time) or notes written before their writer's split time. Item texts
    are the split's (base text plus training notes only) when the dataset has notes.
    """
    folder = Path(folder)
    loader = load_movielens if (folder / "ratings.csv").is_file() else load_stackexchange
    events = loader(folder)[0]
    items = pd.Series(np.arange(len(split.data.item_ids)), index=split.data.item_ids)
    item = items.reindex(events[ITEM_ID].astype(str)).to_numpy()
    row = pd.Series(np.arange(len(split.users)), index=split.users).reindex(
        events[USER].astype(str)).to_numpy()
    seconds = ((events[TIMESTAMP] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy()
    train = split.train_events
    is_train = pd.MultiIndex.from_arrays([row, item, seconds]).isin(
        pd.MultiIndex.from_arrays([train["row"].astype(float), train["item"].astype(float),
                                   train["time"]]))
    split_time = np.where(np.isnan(row), np.inf, split.split_time[np.nan_to_num(row).astype(int)])
    is_note = events[EVENT_TYPE].isin(MOVIELENS_NOTES).to_numpy() & (seconds < split_time)
    kept = events[is_train | is_note]
    kept_item = item[is_train | is_note]
    titles = kept[ITEM_TEXT].to_numpy(dtype=object, copy=True)
    if len(split.notes):
        has_item = ~np.isnan(kept_item)
        titles[has_item] = split.item_text[kept_item[has_item].astype(int)]
    return pd.DataFrame({"user_id": kept[USER].to_numpy(), "timestamp": kept[TIMESTAMP].to_numpy(),
                         "event_type": kept[EVENT_TYPE].to_numpy(),
                         "text": kept[TEXT].to_numpy(), "item_id": kept[ITEM_ID].to_numpy(),
                         "item_title": titles})


def catalogue_file(folder: Path, scratch: Path) -> Path:
    """Return the dataset's item catalogue file (written into ``scratch`` for Stack Exchange)."""
    folder = Path(folder)
    if (folder / "movies.csv").is_file():
        return folder / "movies.csv"
    rows = []
    for _, row in ET.iterparse(folder / "Posts.xml"):
        if row.tag == "row" and row.get("PostTypeId") == "1":
            rows.append({"item_id": row.get("Id"), "title": row.get("Title"),
                         "category": "|".join(re.findall(r"<([^<>]+)>", row.get("Tags") or "")),
                         "date": row.get("CreationDate"), "description": row.get("Body")})
        row.clear()
    path = Path(scratch) / f"{folder.name}_questions.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_product(events: pd.DataFrame, *, store_dir: Path, k: int,
                items: Path | None = None) -> ProductRun:
    """Run the product on ``events`` (and catalogue ``items``), then time recommending from it."""
    settings = Settings(store_dir=store_dir, recommendations_per_user=k)
    with Assistant(store=store_dir, settings=settings) as assistant:
        start = time.perf_counter()
        result = assistant.run(events, column_map=COLUMN_MAP, items=items)
        run_s = time.perf_counter() - start
    with Store(store_dir).open() as store:
        users = store.read_table("users")
        vectors = store.get_vectors("users", users["user"].tolist())
        interests = {u: str(t or "").split(";") for u, t in
                     zip(users["user"], users["top_interests"], strict=True)}
        timings, cpu, frames = [], [], []
        for tune in (True, False):
            start, start_cpu = time.perf_counter(), time.process_time()
            recommender = StoreRecommender.from_store(store, interests, tune=tune,
                                                      random_state=settings.random_state)
            frames.append(recommender.rank(users["user"].tolist(), vectors, k))
            timings.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        weights = recommender.hybrid().get_params() if recommender.is_hybrid else {}
    columns = ["user", "rank", "item"]
    same = all(frame[columns].equals(result.recommendations[columns]) for frame in frames)
    return ProductRun(result.recommendations, run_s, dict(result.summary.stage_seconds),
                      timings[0], timings[1], (cpu[0], cpu[1]), same, weights)


def product_lists(recommendations: pd.DataFrame, split: Split, rows: np.ndarray,
                  k: int) -> np.ndarray:
    """Return the product's ranked lists for the user ``rows`` as catalogue indices (-1 pads)."""
    index = pd.Index(split.data.item_ids.astype(str))
    lists = recommendations.sort_values(["user", "rank"]).groupby("user")["item"].agg(list)
    out = np.full((len(rows), k), -1, dtype=int)
    for n, user in enumerate(split.users[rows]):
        found = index.get_indexer(lists.get(str(user), []))[:k]
        out[n, :len(found)] = found
    return out
