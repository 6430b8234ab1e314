"""Offline recommender evaluation (issue 7): temporal protocol, metrics and baselines.

Protocol: per user, interactions are sorted by time (ties by item); the oldest 80 % (at least one)
train, the rest test. The positives to find are the user's *target* test interactions (MovieLens:
ratings >= 4; Stack Exchange: answers and comments) on items not seen in training. Users without
positives are skipped in the averages. User-written item text (MovieLens tags) joins its item's
text only when written before its writer's split time. Seen items are never recommended.

Metrics at k: Precision = hits / k, Recall = hits / n_positives, NDCG with binary relevance and
an ideal DCG over min(k, n_positives), catalogue coverage = distinct recommended items / catalogue
size, intra-list diversity = mean pairwise (1 - cosine) of the recommended items' one-hot
features (genres or tags; an item without features has cosine 0 to every other).

The hybrid recommender itself lives in the product (``tools.collab``, tuned by
``tools.collab_tune``); ``training_interactions`` hands it the training part of a split.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from interestlens.tools.connectors import load_movielens, load_stackexchange
from interestlens.tools.rank import top_k as top_k_columns
from interestlens.tools.records import EVENT_TYPE, ITEM_ID, TEXT, TIMESTAMP, USER

MOVIELENS_INTERACTIONS = ("liked", "rated", "disliked")  # every rating; "liked" is rating >= 4
MOVIELENS_TARGETS = ("liked",)
MOVIELENS_NOTES = ("tagged",)
STACKEXCHANGE_INTERACTIONS = ("question", "answer", "comment")
STACKEXCHANGE_TARGETS = ("answer", "comment")
_HTML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class RecData:
    """One dataset in the shape the protocol needs.

    Args:
        name: Dataset name for tables.
        events: One row per interaction: ``user`` (str), ``item`` (catalogue index), ``time``
            (epoch seconds) and ``is_target`` (a positive when it falls in test).
        notes: User-written item text: ``user``, ``item``, ``time``, ``text``.
        item_ids: Catalogue item ids.
        item_text: Base text of each catalogue item.
        item_features: One-hot item features (genres or tags), one CSR row per item; used for
            intra-list diversity and the stand-in segments, never by the hybrid's content term.
    """

    name: str
    events: pd.DataFrame
    notes: pd.DataFrame
    item_ids: np.ndarray
    item_text: np.ndarray
    item_features: sp.csr_matrix


def load_dataset(folder: Path) -> RecData:
    """Load a MovieLens or Stack Exchange folder, chosen by the files it holds."""
    folder = Path(folder)
    if (folder / "ratings.csv").is_file():
        return load_movielens_data(folder)
    return load_stackexchange_data(folder)


def load_movielens_data(folder: Path) -> RecData:
    """Load MovieLens: ratings are interactions (>= 4 are targets), tags are notes."""
    folder = Path(folder)
    events = load_movielens(folder)[0]
    movies = pd.read_csv(folder / "movies.csv", dtype=str, keep_default_na=False)
    genres = movies["genres"].where(movies["genres"] != "(no genres listed)", "")
    return _rec_data(folder.name, events, movies["movieId"].to_numpy(),
                     (movies["title"] + " " + genres.str.replace("|", " ")).to_numpy(),
                     genres.str.split("|").tolist(), MOVIELENS_INTERACTIONS,
                     MOVIELENS_TARGETS, MOVIELENS_NOTES)


def load_stackexchange_data(folder: Path) -> RecData:
    """Load a Stack Exchange dump: questions are items; answers and comments are targets."""
    folder = Path(folder)
    events = load_stackexchange(folder)[0]
    ids, texts, tags = [], [], []
    for _, row in ET.iterparse(folder / "Posts.xml"):
        if row.tag == "row" and row.get("PostTypeId") == "1":
            tag_names = re.findall(r"<([^<>]+)>", row.get("Tags") or "")
            body = html.unescape(_HTML_TAG.sub(" ", row.get("Body") or ""))
            ids.append(row.get("Id"))
            texts.append(" ".join([row.get("Title") or "", body, *tag_names]))
            tags.append(tag_names)
        row.clear()
    return _rec_data(folder.name, events, np.array(ids, dtype=object),
                     np.array(texts, dtype=object), tags, STACKEXCHANGE_INTERACTIONS,
                     STACKEXCHANGE_TARGETS, ())


def _rec_data(name: str, events: pd.DataFrame, item_ids: np.ndarray, item_text: np.ndarray,
              labels: list[list[str]], interactions: Sequence[str], targets: Sequence[str],
              notes: Sequence[str]) -> RecData:
    index = pd.Series(np.arange(len(item_ids)), index=item_ids)
    events = events[events[ITEM_ID].isin(index.index) & events[USER].notna()]
    frame = pd.DataFrame({
        "user": events[USER].astype(str).to_numpy(),
        "item": index[events[ITEM_ID]].to_numpy(),
        "time": ((events[TIMESTAMP] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1))
        .to_numpy(),
        "type": events[EVENT_TYPE].to_numpy(), "text": events[TEXT].to_numpy()})
    features = CountVectorizer(analyzer=lambda names: [n for n in names if n], binary=True,
                               lowercase=False).fit_transform(labels)
    kept = frame[frame["type"].isin(interactions)]
    return RecData(
        name=name,
        events=kept.assign(is_target=kept["type"].isin(targets))[
            ["user", "item", "time", "is_target"]].reset_index(drop=True),
        notes=frame[frame["type"].isin(notes)][["user", "item", "time", "text"]]
        .reset_index(drop=True),
        item_ids=item_ids, item_text=item_text,
        item_features=sp.csr_matrix(features, dtype=np.float64))


# ---- protocol ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A temporal train/test split of one dataset.

    Args:
        data: The dataset that was split.
        users: User ids, in the row order of ``train``.
        train: Users x items, 1.0 where the user interacted in training.
        train_events: Training events with ``row`` (user row), ``item``, ``time``, ``is_target``.
        split_time: Per user row, the time of the first test interaction (inf when none).
        targets: Per user row, the positive test items not seen in training.
        item_text: Base item text plus the notes written before their writer's split time.
        notes: Those notes.
    """

    data: RecData
    users: np.ndarray
    train: sp.csr_matrix
    train_events: pd.DataFrame
    split_time: np.ndarray
    targets: tuple[np.ndarray, ...]
    item_text: np.ndarray
    notes: pd.DataFrame

    @property
    def eval_rows(self) -> np.ndarray:
        """Return the user rows that have at least one positive to find."""
        return np.flatnonzero([len(t) > 0 for t in self.targets])


def temporal_split(data: RecData, *, train_fraction: float = 0.8) -> Split:
    """Split each user's interactions by time: the oldest ``train_fraction`` (at least 1) train."""
    events = data.events.sort_values(["user", "time", "item"], kind="stable")
    users, rows = np.unique(events["user"].to_numpy(), return_inverse=True)
    sizes = np.bincount(rows)
    n_train = np.maximum(1, np.floor(train_fraction * sizes + 1e-9).astype(int))
    is_train = events.groupby("user", sort=False).cumcount().to_numpy() < n_train[rows]
    items, times = events["item"].to_numpy(), events["time"].to_numpy()
    train = sp.csr_matrix((np.ones(is_train.sum()), (rows[is_train], items[is_train])),
                          shape=(len(users), len(data.item_ids)))
    train.data[:] = 1.0
    split_time = np.full(len(users), np.inf)
    np.minimum.at(split_time, rows[~is_train], times[~is_train])
    test = ~is_train & events["is_target"].to_numpy()
    test &= ~np.isin(rows * len(data.item_ids) + items,
                     rows[is_train] * len(data.item_ids) + items[is_train])
    targets = pd.Series(items[test]).groupby(rows[test]).unique()
    note_rows = pd.Series(np.arange(len(users)), index=users).reindex(data.notes["user"])
    note_split = np.where(note_rows.isna(), np.inf, split_time[note_rows.fillna(0).astype(int)])
    notes = data.notes[data.notes["time"].to_numpy() < note_split]
    return Split(
        data=data, users=users, train=train,
        train_events=pd.DataFrame({"row": rows[is_train], "item": items[is_train],
                                   "time": times[is_train],
                                   "is_target": events["is_target"].to_numpy()[is_train]}),
        split_time=split_time,
        targets=tuple(np.sort(targets.get(row, np.array([], dtype=int))).astype(int)
                      for row in range(len(users))),
        item_text=_with_notes(data.item_text, notes), notes=notes)


def _with_notes(item_text: np.ndarray, notes: pd.DataFrame) -> np.ndarray:
    joined = notes.groupby("item")["text"].agg(" ".join)
    extra = pd.Series("", index=np.arange(len(item_text)), dtype=object)
    extra[joined.index] = joined.to_numpy()
    return (pd.Series(item_text, dtype=object) + " " + extra).to_numpy()


def training_interactions(split: Split) -> pd.DataFrame:
    """Return the training part of a split as the product's interaction table.

    Columns ``INTERACTION_COLUMNS`` of ``tools.interactions``; item ids are the catalogue ids and
    a target interaction (a rating >= 4, an answer, a comment) is a positive one.
    """
    events = split.train_events
    return pd.DataFrame({
        "user": split.users[events["row"]].astype(str),
        "item": split.data.item_ids[events["item"]].astype(str),
        "timestamp": pd.to_datetime(events["time"], unit="s", utc=True),
        "is_positive": events["is_target"].to_numpy(dtype=bool)})


def lsa_item_vectors(texts: Sequence[str], *, n_components: int = 128,
                     random_state: int = 0) -> np.ndarray:
    """Return dense unit item vectors: TF-IDF reduced by truncated SVD (LSA)."""
    tfidf = tfidf_item_vectors(texts)
    size = max(1, min(n_components, tfidf.shape[1] - 1))
    return normalize(TruncatedSVD(size, random_state=random_state).fit_transform(tfidf))


# ---- metrics -----------------------------------------------------------------------------------


def top_k(scores: np.ndarray, seen: sp.csr_matrix, *, k: int = 10) -> np.ndarray:
    """Return each row's ``k`` best unseen item indices, best first (ties: lower index first)."""
    masked = np.array(scores, dtype=np.float64)
    masked[seen.nonzero()] = -np.inf
    return top_k_columns(masked, k=k)


def ranking_metrics(recs: np.ndarray, targets: Sequence[np.ndarray]) -> dict[str, float]:
    """Return mean precision, recall and NDCG of ranked lists against their positive sets.

    Args:
        recs: One ranked list of item indices per row (length k).
        targets: The positives of each row; rows with none are skipped.
    """
    k = recs.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    precision, recall, ndcg = [], [], []
    for ranked, positives in zip(recs, targets, strict=True):
        if len(positives) == 0:
            continue
        hits = np.isin(ranked, positives)
        precision.append(hits.sum() / k)
        recall.append(hits.sum() / len(positives))
        ndcg.append((hits * discounts).sum() / discounts[:min(k, len(positives))].sum())
    return {"precision": float(np.mean(precision)), "recall": float(np.mean(recall)),
            "ndcg": float(np.mean(ndcg))}


def catalogue_coverage(recs: np.ndarray, n_items: int) -> float:
    """Return the share of the catalogue that appears in at least one list (-1 pads ignored)."""
    return len(np.unique(recs[recs >= 0])) / n_items


def intra_list_diversity(recs: np.ndarray, features: sp.csr_matrix) -> float:
    """Return the mean over lists of the mean pairwise (1 - cosine) of the items' features.

    -1 pads are left out; a list of fewer than two items is skipped.
    """
    unit = normalize(features)
    values = []
    for ranked in recs:
        ranked = ranked[ranked >= 0]
        if len(ranked) < 2:
            continue
        similarity = (unit[ranked] @ unit[ranked].T).toarray()
        pairs = len(ranked) * (len(ranked) - 1)
        values.append(1.0 - (similarity.sum() - np.trace(similarity)) / pairs)
    return float(np.mean(values)) if values else 0.0


def evaluate(recs: np.ndarray, split: Split, rows: np.ndarray) -> dict[str, float]:
    """Return every metric of the lists ``recs`` made for the user ``rows`` of ``split``."""
    return {**ranking_metrics(recs, [split.targets[r] for r in rows]),
            "coverage": catalogue_coverage(recs, len(split.data.item_ids)),
            "ild": intra_list_diversity(recs, split.data.item_features)}


# ---- baselines ---------------------------------------------------------------------------------

Segmenter = Callable[["Split"], np.ndarray]
"""Segment hook: ``segmenter(split) -> one label per user row`` (from training data only)."""


def popularity_counts(split: Split, *, targets_only: bool = False) -> np.ndarray:
    """Return each item's number of training interactions (or of training target ones)."""
    events = split.train_events
    if targets_only:
        events = events[events["is_target"]]
    return np.bincount(events["item"], minlength=len(split.data.item_ids)).astype(np.float64)


def target_matrix(split: Split) -> sp.csr_matrix:
    """Return users x items, 1.0 where the user had a training *target* interaction."""
    events = split.train_events[split.train_events["is_target"]]
    matrix = sp.csr_matrix((np.ones(len(events)), (events["row"], events["item"])),
                           shape=split.train.shape)
    matrix.data[:] = 1.0
    return matrix


def genre_kmeans_segments(split: Split, *, n_segments: int = 8,
                          random_state: int = 0) -> np.ndarray:
    """Return a STAND-IN segment per user: k-means over training genre (or tag) profiles."""
    profiles = normalize(split.train @ split.data.item_features)
    return KMeans(n_segments, random_state=random_state, n_init=10).fit_predict(profiles)


def segments_from_table(segment_of: Mapping[str, str]) -> Segmenter:
    """Return a segmenter that looks users up in ``segment_of`` (e.g. InterestLens segments).

    The segments must come from a run on training events only, or the evaluation leaks test data.
    Users missing from the table share the segment ``"unassigned"``.
    """
    def segmenter(split: Split) -> np.ndarray:
        return np.array([str(segment_of.get(user, "unassigned")) for user in split.users])

    return segmenter


def segment_popularity(split: Split, labels: np.ndarray) -> np.ndarray:
    """Return per user row the training interaction counts of the items within its segment."""
    codes, inverse = np.unique(labels, return_inverse=True)
    members = sp.csr_matrix((np.ones(len(labels)), (inverse, np.arange(len(labels)))),
                            shape=(len(codes), len(labels)))
    return np.asarray((members @ split.train).todense())[inverse]


def tfidf_item_vectors(texts: Sequence[str]) -> sp.csr_matrix:
    """Return L2-normalised TF-IDF vectors of the item texts."""
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    return vectorizer.fit_transform(texts).tocsr()


def content_scores(train: sp.csr_matrix, item_vectors: sp.csr_matrix) -> np.ndarray:
    """Return cosine(user vector, item vector); a user is the mean of its training items."""
    profiles = normalize(train @ item_vectors)
    return (profiles @ item_vectors.T).toarray()


def item_knn_weights(train: sp.csr_matrix, *, n_neighbours: int = 100,
                     block: int = 1024) -> sp.csr_matrix:
    """Return item-item cosine similarities, keeping each item's ``n_neighbours`` nearest."""
    unit = normalize(sp.csr_matrix(train.T, dtype=np.float64))
    n_items = unit.shape[0]
    keep = min(n_neighbours, n_items - 1)
    rows, cols, vals = [], [], []
    for start in range(0, n_items, block):
        sims = (unit[start:start + block] @ unit.T).toarray()
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = 0.0
        near = np.argpartition(-sims, keep - 1, axis=1)[:, :keep]
        rows.append(np.repeat(np.arange(start, start + len(sims)), keep))
        cols.append(near.ravel())
        vals.append(np.take_along_axis(sims, near, axis=1).ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_items, n_items))


def item_knn_scores(train: sp.csr_matrix, weights: sp.csr_matrix) -> np.ndarray:
    """Return per user the summed similarity of each item to the neighbours it has in training."""
    return (train @ weights).toarray()
