"""Offline recommender evaluation (issue 7): temporal protocol, metrics, baselines, the hybrid.

Protocol: per user, interactions are sorted by time (ties by item); the oldest 80 % (at least one)
train, the rest test. The positives to find are the user's *target* test interactions (MovieLens:
ratings >= 4; Stack Exchange: answers and comments) on items not seen in training. Users without
positives are skipped in the averages. User-written item text (MovieLens tags) joins its item's
text only when written before its writer's split time. Seen items are never recommended.

Metrics at k: Precision = hits / k, Recall = hits / n_positives, NDCG with binary relevance and
an ideal DCG over min(k, n_positives), catalogue coverage = distinct recommended items / catalogue
size, intra-list diversity = mean pairwise (1 - cosine) of the recommended items' one-hot
features (genres or tags; an item without features has cosine 0 to every other).

The hybrid (``tune_hybrid``, ``fit_hybrid``, ``recommend_hybrid``) adds up per-user [0, 1]-scaled
terms: EASE on all interactions, EASE on positive ones, TF-IDF content cosine, segment popularity,
time-decayed popularity at the user's ``now`` and global popularity; MMR re-ranks the result.
Its weights are tuned on a validation split carved from the training part, never on test.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import lapack
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from interestlens.tools.connectors import load_movielens, load_stackexchange
from interestlens.tools.records import EVENT_TYPE, ITEM_ID, TEXT, TIMESTAMP, USER

MOVIELENS_INTERACTIONS = ("liked", "rated", "disliked")  # every rating; "liked" is rating >= 4
MOVIELENS_TARGETS = ("liked",)
MOVIELENS_NOTES = ("tagged",)
STACKEXCHANGE_INTERACTIONS = ("question", "answer", "comment")
STACKEXCHANGE_TARGETS = ("answer", "comment")
Clock = Literal["last_seen", "next_visit"]
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
        clock: How ``now`` was chosen (see ``temporal_split``).
        now: Per user row, when its recommendations are made.
        targets: Per user row, the positive test items not seen in training.
        item_text: Base item text plus the notes written before their writer's split time.
        notes: Those notes.
    """

    data: RecData
    users: np.ndarray
    train: sp.csr_matrix
    train_events: pd.DataFrame
    split_time: np.ndarray
    clock: Clock
    now: np.ndarray
    targets: tuple[np.ndarray, ...]
    item_text: np.ndarray
    notes: pd.DataFrame

    @property
    def eval_rows(self) -> np.ndarray:
        """Return the user rows that have at least one positive to find."""
        return np.flatnonzero([len(t) > 0 for t in self.targets])


def temporal_split(data: RecData, *, train_fraction: float = 0.8,
                   clock: Clock = "last_seen") -> Split:
    """Split each user's interactions by time: the oldest ``train_fraction`` (at least 1) train.

    ``clock`` sets ``Split.now``, the moment time-aware scores are computed for each user: its
    last training interaction (``"last_seen"``, what a batch product knows) or its first test
    interaction (``"next_visit"``: recommendations made the instant the user returns; optimistic).
    """
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
    last_seen = np.full(len(users), -np.inf)
    np.maximum.at(last_seen, rows[is_train], times[is_train])
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
        split_time=split_time, clock=clock,
        now=last_seen if clock == "last_seen" else split_time,
        targets=tuple(np.sort(targets.get(row, np.array([], dtype=int))).astype(int)
                      for row in range(len(users))),
        item_text=_with_notes(data.item_text, notes), notes=notes)


def _with_notes(item_text: np.ndarray, notes: pd.DataFrame) -> np.ndarray:
    joined = notes.groupby("item")["text"].agg(" ".join)
    extra = pd.Series("", index=np.arange(len(item_text)), dtype=object)
    extra[joined.index] = joined.to_numpy()
    return (pd.Series(item_text, dtype=object) + " " + extra).to_numpy()


def training_data(split: Split) -> RecData:
    """Return the training part of a split as a dataset, to carve a validation split from it."""
    events = split.train_events
    return RecData(
        name=f"{split.data.name} (training)", notes=split.notes,
        events=pd.DataFrame({"user": split.users[events["row"]], "item": events["item"],
                             "time": events["time"], "is_target": events["is_target"]}),
        item_ids=split.data.item_ids, item_text=split.data.item_text,
        item_features=split.data.item_features)


# ---- metrics -----------------------------------------------------------------------------------


def top_k(scores: np.ndarray, seen: sp.csr_matrix, *, k: int = 10) -> np.ndarray:
    """Return each row's ``k`` best unseen item indices, best first (ties: lower index first)."""
    masked = np.array(scores, dtype=np.float64)
    masked[seen.nonzero()] = -np.inf
    k = min(k, masked.shape[1])
    part = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(masked, part, axis=1)
    order = np.lexsort((part, -best), axis=1)
    return np.take_along_axis(part, order, axis=1)


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
    """Return the share of the catalogue that appears in at least one list."""
    return len(np.unique(recs)) / n_items


def intra_list_diversity(recs: np.ndarray, features: sp.csr_matrix) -> float:
    """Return the mean over lists of the mean pairwise (1 - cosine) of the items' features."""
    unit = normalize(features)
    k = recs.shape[1]
    values = []
    for ranked in recs:
        rows = unit[ranked]
        similarity = (rows @ rows.T).toarray()
        values.append(1.0 - (similarity.sum() - np.trace(similarity)) / (k * (k - 1)))
    return float(np.mean(values))


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


def ease_weights(train: sp.csr_matrix, *, l2: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """Fit EASE on the items with training interactions: B = I - P diag(1/diag(P)).

    P = (XᵀX + λI)⁻¹ is computed in float32 through a Cholesky factorisation (about 4x faster
    than a float64 ``inv``; the ranking is unchanged at λ = 500).

    Returns:
        The fitted item indices and B over them.
    """
    active = np.flatnonzero(np.asarray(train.sum(axis=0)).ravel() > 0)
    x = train[:, active].toarray().astype(np.float32)
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += l2
    factor, info = lapack.spotrf(gram, lower=False, overwrite_a=True)
    precision, info2 = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info or info2:
        raise np.linalg.LinAlgError(f"EASE Gram matrix is not positive definite ({info}, {info2})")
    precision = np.triu(precision) + np.triu(precision, 1).T
    weights = precision / -np.diag(precision)
    weights[np.diag_indices_from(weights)] = 0.0
    return active, weights


def ease_scores(train: sp.csr_matrix, active: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return EASE scores over the whole catalogue (0 for items without training interactions)."""
    scores = np.zeros(train.shape, dtype=np.float64)
    scores[:, active] = train[:, active] @ weights
    return scores


# ---- the InterestLens hybrid -------------------------------------------------------------------

SECONDS_PER_DAY = 86_400.0
COMPONENTS = ("collab", "collab_positive", "content", "segment", "recency", "popularity")


@dataclass(frozen=True)
class HybridWeights:
    """Weights of the hybrid score and its MMR step (every term is scaled to [0, 1] per user).

    Args:
        collab: Weight of EASE fitted on, and fed with, all training interactions.
        collab_positive: Weight of EASE fitted on, and fed with, positive (target) ones only.
        content: Weight of cosine(user TF-IDF vector, item TF-IDF vector).
        segment: Weight of log popularity within the user's segment.
        recency: Weight of log time-decayed popularity at the user's "now".
        popularity: Weight of log global popularity.
        half_life_days: Half-life of the recency prior.
        diversity: MMR trade-off in [0, 1] (0: rank by score alone), as in ``tools.recommend``.
    """

    collab: float = 1.0
    collab_positive: float = 0.0
    content: float = 0.0
    segment: float = 0.0
    recency: float = 0.0
    popularity: float = 0.0
    half_life_days: float = 90.0
    diversity: float = 0.0


def time_decayed_popularity(split: Split, rows: np.ndarray, *,
                            half_life_days: float) -> np.ndarray:
    """Return per user row the training interactions before its ``now``, halved per half-life.

    In the product "now" is the newest event, so this is one vector shared by every user.
    """
    events = split.train_events
    times, items = events["time"].to_numpy(), events["item"].to_numpy()
    scores = np.zeros((len(rows), len(split.data.item_ids)))
    for i, now in enumerate(split.now[rows]):
        before = times < now
        age = (now - times[before]) / (half_life_days * SECONDS_PER_DAY)
        scores[i] = np.bincount(items[before], weights=0.5 ** age, minlength=scores.shape[1])
    return scores


def scale_rows(scores: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """Return each row min-max scaled to [0, 1] over its unseen items (seen items get 0)."""
    masked = np.array(scores, dtype=np.float64)
    masked[seen.nonzero()] = np.nan
    low, high = np.nanmin(masked, axis=1, keepdims=True), np.nanmax(masked, axis=1, keepdims=True)
    scaled = (masked - low) / np.where(high > low, high - low, 1.0)
    return np.nan_to_num(scaled, nan=0.0)


@dataclass(frozen=True)
class HybridModel:
    """What the hybrid learns from a training matrix.

    Args:
        ease: EASE fitted on all training interactions (fitted items, B).
        ease_positive: EASE fitted on positive training interactions only.
        item_vectors: TF-IDF vector of each catalogue item (content term and MMR).
        segment_counts: Per user row, the training interaction counts within its segment.
        popularity: Training interaction count of each item.
    """

    ease: tuple[np.ndarray, np.ndarray]
    ease_positive: tuple[np.ndarray, np.ndarray]
    item_vectors: sp.csr_matrix
    segment_counts: np.ndarray
    popularity: np.ndarray


def fit_hybrid(split: Split, *, segment_labels: np.ndarray, l2: float = 500.0) -> HybridModel:
    """Fit every model the hybrid's terms need on the training part of ``split``."""
    return HybridModel(
        ease=ease_weights(split.train, l2=l2),
        ease_positive=ease_weights(target_matrix(split), l2=l2),
        item_vectors=tfidf_item_vectors(split.item_text),
        segment_counts=segment_popularity(split, segment_labels),
        popularity=popularity_counts(split))


def hybrid_terms(model: HybridModel, split: Split, rows: np.ndarray, *,
                 half_life_days: Sequence[float]) -> dict[str, np.ndarray]:
    """Return the hybrid's terms for the user ``rows``, each scaled to [0, 1] per user.

    Counts enter as log1p. The recency term is keyed ``recency@{half_life}`` per half-life.
    """
    seen = split.train[rows]
    terms = {
        "collab": ease_scores(seen, *model.ease),
        "collab_positive": ease_scores(target_matrix(split)[rows], *model.ease_positive),
        "content": content_scores(seen, model.item_vectors),
        "segment": np.log1p(model.segment_counts[rows]),
        "popularity": np.tile(np.log1p(model.popularity), (len(rows), 1)),
    }
    for days in half_life_days:
        terms[f"recency@{days:g}"] = np.log1p(
            time_decayed_popularity(split, rows, half_life_days=days))
    return {name: scale_rows(values, seen) for name, values in terms.items()}


def recommend_hybrid(model: HybridModel, split: Split, rows: np.ndarray,
                     weights: HybridWeights, *, k: int = 10) -> np.ndarray:
    """Return the hybrid's ``k`` recommendations for each of the user ``rows``."""
    terms = hybrid_terms(model, split, rows, half_life_days=(weights.half_life_days,))
    return mmr_rerank(hybrid_scores(terms, weights), split.train[rows], model.item_vectors,
                      k=k, diversity=weights.diversity)


def hybrid_scores(terms: dict[str, np.ndarray], weights: HybridWeights) -> np.ndarray:
    """Return the weighted sum of the scaled terms."""
    total = np.zeros_like(terms["collab"])
    for name in COMPONENTS:
        key = f"recency@{weights.half_life_days:g}" if name == "recency" else name
        if getattr(weights, name):
            total += getattr(weights, name) * terms[key]
    return total


def mmr_rerank(scores: np.ndarray, seen: sp.csr_matrix, item_vectors: sp.csr_matrix, *,
               k: int = 10, diversity: float = 0.0, pool: int = 50) -> np.ndarray:
    """Return each row's ``k`` items by MMR over its ``pool`` best unseen items.

    The gain of a candidate is ``(1 - diversity) * relevance - diversity * max cosine`` to the
    items already picked, relevance being the score min-max scaled within the pool.
    """
    candidates = top_k(scores, seen, k=pool)
    if diversity == 0:
        return candidates[:, :k]
    unit, size = normalize(item_vectors), candidates.shape[1]
    picked = np.empty((len(candidates), min(k, size)), dtype=int)
    for i, pool_items in enumerate(candidates):
        relevance = scale_rows(scores[i, pool_items][None, :], sp.csr_matrix((1, size)))[0]
        similarity = (unit[pool_items] @ unit[pool_items].T).toarray()
        redundancy, available = np.zeros(size), np.ones(size, dtype=bool)
        for rank in range(picked.shape[1]):
            gain = np.where(available, (1 - diversity) * relevance - diversity * redundancy,
                            -np.inf)
            best = int(np.argmax(gain))
            picked[i, rank], available[best] = pool_items[best], False
            redundancy = np.maximum(redundancy, similarity[best])
    return picked


WEIGHT_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0)
HALF_LIFE_GRID = (0.25, 1.0, 7.0, 30.0, 90.0, 365.0)
DIVERSITY_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


def tune_hybrid(split: Split, *, segmenter: Segmenter, l2: float = 500.0, n_passes: int = 2,
                min_gain: float = 0.005, tolerance: float = 0.01,
                ) -> tuple[HybridWeights, float]:
    """Tune the hybrid on a validation split carved from the training part only.

    The training part is split again by the same temporal rule and clock. Coordinate ascent over
    ``WEIGHT_GRID`` (recency jointly with ``HALF_LIFE_GRID``), starting from EASE alone, maximises
    validation NDCG@10, taking a move only when it gains more than ``min_gain`` (relative; this
    keeps noise-level terms out); then the largest diversity whose NDCG stays within ``tolerance``
    (relative) of the best is kept.

    Returns:
        The weights and their validation NDCG@10.
    """
    inner = temporal_split(training_data(split), clock=split.clock)
    rows = inner.eval_rows
    model = fit_hybrid(inner, segment_labels=segmenter(inner), l2=l2)
    terms = hybrid_terms(model, inner, rows, half_life_days=HALF_LIFE_GRID)
    seen, targets = inner.train[rows], [inner.targets[r] for r in rows]

    def ndcg(weights: HybridWeights) -> float:
        recs = mmr_rerank(hybrid_scores(terms, weights), seen, model.item_vectors,
                          diversity=weights.diversity)
        return ranking_metrics(recs, targets)["ndcg"]

    best = HybridWeights()
    best_ndcg = ndcg(best)
    moves = [{name: w} for name in COMPONENTS if name != "recency" for w in WEIGHT_GRID]
    moves += [{"recency": w, "half_life_days": h} for w in WEIGHT_GRID for h in HALF_LIFE_GRID]
    for _ in range(n_passes):
        for move in moves:
            candidate = replace(best, **move)
            value = ndcg(candidate)
            if value > (1 + min_gain) * best_ndcg:
                best, best_ndcg = candidate, value
    for diversity in DIVERSITY_GRID[1:]:
        candidate = replace(best, diversity=diversity)
        if ndcg(candidate) >= (1 - tolerance) * best_ndcg:
            best = candidate
    return best, best_ndcg
