"""Segment quality of InterestLens and BERTopic side by side, on the labelled data of ../shared.

    python -m benchmarks.bench_quality            # full samples (tens of minutes on 2 cores)
    python -m benchmarks.bench_quality --quick    # CI-sized samples
    python -m benchmarks.bench_quality --only zeroshot   # one shopping run: zero-shot accuracy

Issue 3 calls this script ``benchmarks/quality.py``; house style names benchmarks
``bench_<what>.py``, hence ``bench_quality.py``.

Datasets (document mode: each row is one "user", its label the truth):

- ``shopping``: online_shopping_10_cats, a class-balanced sample by ``cat`` (3,000 reviews; 500 in
  ``--quick``); also the zero-shot accuracy with the 10 category names as ``--interests`` labels
  and the sentiment accuracy against its ``label`` column;
- ``thucnews``: thucnews_titles_10class ``test.txt`` (10,000 titles; 1,000 in ``--quick``);
- ``stackexchange``: every question and answer of the five Stack Exchange sites, site as label
  (8,604 posts; 500 in ``--quick``);
- ``chnsenticorp``: ChnSentiCorp_htl_all, sentiment accuracy only (all 7,766; 1,000 quick).

Fair play: both methods see the same texts, the rows InterestLens kept after cleaning, and the
same MiniLM vectors, computed once (the ``embed s`` column) and put in the InterestLens store's
embedding cache and handed to ``BERTopic.fit_transform``. BERTopic runs its default pipeline
(UMAP 5-d, HDBSCAN min_topic_size 10, c-TF-IDF), seeded through ``UMAP(random_state=seed)``
with the other UMAP defaults of BERTopic, and ``CountVectorizer(tokenizer=jieba.lcut)`` for
Chinese. Both run with one BLAS/OpenMP thread (and numba with one), because on a shared 2-core
machine more threads spin-wait and timings swing several-fold; one-off costs (jieba's dictionary,
numba compiling UMAP, training the sentiment model) are paid before any timing.

Columns: ``NMI``/``ARI`` of the segments (BERTopic: its topics, outliers as topic -1) against the
truth over all kept rows; ``unassigned %``: InterestLens rows left as noise by the density
clusterer (they are still placed, flagged ``is_outlier``, with a low confidence), BERTopic's
topic -1; ``s segment``: seconds to segment with embeddings given (InterestLens: tokenising,
lexical features, fusion, profiles, clustering, segmenting, i.e. the stages ``features``,
``embed`` with a warm cache, ``profile``, ``cluster``, ``segment``; the c-TF-IDF keywords are
computed with the names in the ``name`` stage, not counted here, see each run's ``report.md``;
BERTopic: ``fit_transform``, keywords included);
``s total``: ``embed s`` plus the whole run (InterestLens also scores sentiment, fits LDA, names,
stores, recommends and writes the report); ``peak MB``: largest rise of the resident set during
the run, sampled every 20 ms; ``ARI reseed``: InterestLens against itself, run again with another
seed on shuffled rows. Seeds are fixed (``--seed``).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before umap/numba are imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from threadpoolctl import threadpool_limits

from benchmarks.common import commit, machine, print_table
from interestlens import Assistant, Settings
from interestlens.tools.clean import clean_events
from interestlens.tools.embed import SentenceEmbedder, text_hash
from interestlens.tools.ingest import load_events
from interestlens.tools.records import TEXT, USER
from interestlens.tools.sentiment import score_sentiment
from interestlens.vectorstore import Store

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEGMENT_STAGES = ("features", "embed", "profile", "cluster", "segment")
TEXT_COLUMN = "review"


@dataclass(frozen=True)
class Dataset:
    """One labelled sample: texts, true labels, and the zero-shot label list (if any)."""

    name: str
    frame: pd.DataFrame  # columns TEXT_COLUMN, "label"
    is_chinese: bool
    interests: tuple[str, ...] = ()
    sentiment: pd.Series | None = None  # 0/1 truth per row, when the data has one


def balanced(frame: pd.DataFrame, by: str, n: int, seed: int) -> pd.DataFrame:
    """Return up to ``n`` rows, the same number per class of ``by``, in a seeded order."""
    per_class = n // frame[by].nunique()
    parts = [group.sample(min(len(group), per_class), random_state=seed)
             for _, group in frame.groupby(by)]
    return pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def shopping(n: int, seed: int) -> Dataset:
    frame = balanced(pd.read_csv(DATA / "online_shopping_10_cats.csv"), "cat", n, seed)
    return Dataset("online_shopping_10_cats", pd.DataFrame({
        TEXT_COLUMN: frame["review"], "label": frame["cat"]}), True,
        interests=tuple(sorted(frame["cat"].unique())), sentiment=frame["label"])


def thucnews(n: int, seed: int) -> Dataset:
    folder = DATA / "thucnews_titles_10class"
    names = folder.joinpath("class.txt").read_text(encoding="utf-8").split()
    rows = [line.rsplit("\t", 1) for line in
            folder.joinpath("test.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    frame = pd.DataFrame({TEXT_COLUMN: [r[0] for r in rows], "label": [names[int(r[1])]
                                                                      for r in rows]})
    if n < len(frame):
        frame = balanced(frame, "label", n, seed)
    return Dataset("thucnews_titles_10class", frame, True)


def stackexchange(n: int, seed: int) -> Dataset:
    rows = []
    for site in sorted(p for p in (DATA / "stackexchange_small_sites").iterdir() if p.is_dir()):
        for _, element in ET.iterparse(site / "Posts.xml"):
            kind = element.get("PostTypeId")
            if element.tag == "row" and kind in ("1", "2"):
                body = element.get("Body") or ""
                text = f"{element.get('Title') or ''}\n{body}" if kind == "1" else body
                rows.append((text, site.name))
            element.clear()
    frame = pd.DataFrame(rows, columns=[TEXT_COLUMN, "label"])
    if n < len(frame):
        frame = balanced(frame, "label", n, seed)
    return Dataset("stackexchange_5_sites", frame, False)


class PeakMemory:
    """Sample this process's resident set every 20 ms; ``peak_mb`` is the rise over the start."""

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = _rss_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())

    @property
    def peak_mb(self) -> float:
        return self.peak - self.start


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def kept_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows InterestLens keeps after cleaning: input row number and cleaned text."""
    ingested = load_events(frame[[TEXT_COLUMN]], column_map={"text": TEXT_COLUMN})
    events = clean_events(ingested.events, document_mode=True).events
    return pd.DataFrame({"row": events[USER].astype(int).to_numpy(),
                         "text": events[TEXT].to_numpy()})


def embed_once(texts: list[str], cache: Path) -> tuple[np.ndarray, float]:
    """Embed ``texts`` with MiniLM once; later runs of the benchmark reuse the saved vectors.

    Returns the vectors and the seconds the embedding took when it was computed.
    """
    key = text_hash("\n".join(texts))
    if cache.with_suffix(".json").is_file():
        meta = json.loads(cache.with_suffix(".json").read_text())
        if meta["key"] == key:
            return np.load(cache.with_suffix(".npy")), meta["seconds"]
    start = time.perf_counter()
    vectors = SentenceEmbedder().encode(texts)
    seconds = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache.with_suffix(".npy"), vectors)
    cache.with_suffix(".json").write_text(json.dumps({"key": key, "seconds": seconds}))
    return vectors, seconds


def run_interestlens(data: Dataset, kept: pd.DataFrame, vectors: np.ndarray, folder: Path, *,
                     seed: int, shuffle: bool) -> dict:
    """Run the product on the sample (optionally shuffled) with the embedding cache filled."""
    order = (np.random.default_rng(seed).permutation(len(data.frame)) if shuffle
             else np.arange(len(data.frame)))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "data.csv"
    data.frame[[TEXT_COLUMN]].iloc[order].to_csv(source, index=False)
    settings = Settings(store_dir=folder / "store", random_state=seed)
    store = Store(settings.store_dir).open()
    try:
        embedder = SentenceEmbedder()
        store.save_embeddings(embedder.model_id, [text_hash(t) for t in kept["text"]], vectors)
    finally:
        store.close()
    with PeakMemory() as memory, threadpool_limits(limits=1):
        start = time.perf_counter()
        with Assistant(settings=settings) as assistant:
            result = assistant.run([source], out_dir=folder / "out",
                                   interests=list(data.interests) or None)
        wall = time.perf_counter() - start
    users = result.users.assign(row=order[result.users["user"].astype(int).to_numpy()])
    users = users.set_index("row").reindex(kept["row"]).fillna({"segment": "-"})
    seconds = result.summary.stage_seconds
    events = pd.read_csv(folder / "out" / "events.csv", dtype={"user": str})
    return {"users": users, "wall": wall, "peak": memory.peak_mb,
            "segment_s": sum(seconds.get(stage, 0.0) for stage in SEGMENT_STAGES),
            "n_embedded": result.summary.n_embedded,
            "sentiment": events.assign(row=order[events["user"].astype(int).to_numpy()])
            .set_index("row")["sentiment"].reindex(kept["row"])}


def run_bertopic(data: Dataset, kept: pd.DataFrame, vectors: np.ndarray, *, seed: int) -> dict:
    """Run BERTopic's default pipeline on the same texts and vectors."""
    import jieba
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    vectorizer = (CountVectorizer(tokenizer=jieba.lcut, token_pattern=None)
                  if data.is_chinese else None)
    model = BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0,
                                     metric="cosine", low_memory=False, random_state=seed),
                     vectorizer_model=vectorizer)
    with PeakMemory() as memory, threadpool_limits(limits=1):
        start = time.perf_counter()
        topics, _ = model.fit_transform(kept["text"].tolist(), embeddings=vectors)
        wall = time.perf_counter() - start
    return {"topics": np.asarray(topics), "wall": wall, "peak": memory.peak_mb}


def score_rows(data: Dataset, kept: pd.DataFrame, labels: np.ndarray) -> dict:
    truth = data.frame["label"].to_numpy()[kept["row"].to_numpy()]
    return {"NMI": f"{normalized_mutual_info_score(truth, labels):.3f}",
            "ARI": f"{adjusted_rand_score(truth, labels):.3f}"}


def bench_dataset(data: Dataset, out: Path, *, seed: int) -> tuple[list[dict], list[dict]]:
    """Return the clustering rows (InterestLens, BERTopic) and the extra rows of one dataset."""
    folder = out / data.name
    kept = kept_rows(data.frame)
    vectors, embed_s = embed_once(kept["text"].tolist(), folder / "embeddings")
    mine = run_interestlens(data, kept, vectors, folder / "run", seed=seed, shuffle=False)
    again = run_interestlens(data, kept, vectors, folder / "rerun", seed=seed + 1, shuffle=True)
    theirs = run_bertopic(data, kept, vectors, seed=seed)
    users = mine["users"]
    common = {"dataset": data.name, "n": len(kept), "embed s": f"{embed_s:.1f}"}
    rows = [
        common | {"method": "InterestLens"} | score_rows(data, kept, users["segment"].to_numpy())
        | {"unassigned %": f"{100 * users['is_outlier'].mean():.1f}",
           "segments": users["segment"].nunique(), "s segment": f"{mine['segment_s']:.1f}",
           "s total": f"{embed_s + mine['wall']:.1f}", "peak MB": f"{mine['peak']:.0f}",
           "ARI reseed": f"{adjusted_rand_score(users['segment'], again['users']['segment']):.3f}",
           "embedded in run": mine["n_embedded"]},
        common | {"method": "BERTopic"} | score_rows(data, kept, theirs["topics"])
        | {"unassigned %": f"{100 * np.mean(theirs['topics'] < 0):.1f}",
           "segments": len(set(theirs["topics"]) - {-1}), "s segment": f"{theirs['wall']:.1f}",
           "s total": f"{embed_s + theirs['wall']:.1f}", "peak MB": f"{theirs['peak']:.0f}",
           "ARI reseed": "-", "embedded in run": 0},
    ]
    return rows, label_rows(data, kept, mine)


def label_rows(data: Dataset, kept: pd.DataFrame, mine: dict) -> list[dict]:
    """Return the zero-shot and sentiment accuracy rows of one InterestLens run, where defined."""
    extras = []
    if data.interests:
        truth = data.frame["label"].to_numpy()[kept["row"].to_numpy()]
        extras.append({"dataset": data.name, "n": len(kept),
                       "measure": f"zero-shot label accuracy ({len(data.interests)} labels)",
                       "value": f"{np.mean(mine['users']['top_label'].to_numpy() == truth):.3f}"})
    if data.sentiment is not None:
        truth = data.sentiment.to_numpy()[kept["row"].to_numpy()]
        extras.append({"dataset": data.name, "n": len(kept), "measure": "sentiment accuracy",
                       "value": f"{np.mean((mine['sentiment'].to_numpy() > 0) == truth):.3f}"})
    return extras


def zeroshot_only(n: int, seed: int, out: Path) -> list[dict]:
    """Return the zero-shot and sentiment rows of the shopping sample from one InterestLens run
    (no rerun, no BERTopic), with the vectors that the full benchmark caches in ``out``."""
    data = shopping(n, seed)
    folder = out / data.name
    kept = kept_rows(data.frame)
    vectors, _ = embed_once(kept["text"].tolist(), folder / "embeddings")
    mine = run_interestlens(data, kept, vectors, folder / "zeroshot", seed=seed, shuffle=False)
    return label_rows(data, kept, mine)


def sentiment_only(n: int, seed: int) -> dict:
    """Return the sentiment accuracy on ChnSentiCorp_htl_all (or a balanced sample of it)."""
    frame = pd.read_csv(DATA / "chnsenticorp_htl_all" / "ChnSentiCorp_htl_all.csv")
    frame = frame.dropna(subset=["review"])
    if n < len(frame):
        frame = balanced(frame, "label", n, seed)
    scores = score_sentiment(frame["review"].tolist(), ["zh"] * len(frame))
    return {"dataset": "ChnSentiCorp_htl_all", "n": len(frame), "measure": "sentiment accuracy",
            "value": f"{np.mean((scores > 0) == frame['label'].to_numpy()):.3f}"}


def warm_up() -> None:
    """Pay one-off costs before any timing: jieba's dictionary, numba's compilation of UMAP, the
    training of the Chinese sentiment model; neither method is charged for them."""
    import jieba
    from umap import UMAP

    jieba.initialize()
    UMAP(n_components=5, metric="cosine", random_state=0).fit(
        np.random.default_rng(0).normal(size=(300, 16)))
    score_sentiment(["很好"], ["zh"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized samples")
    parser.add_argument("--out", type=Path, default=Path("out/bench-quality"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="shopping,thucnews,stackexchange,chnsenticorp",
                        help="comma-separated subset of the datasets; 'zeroshot' alone runs "
                        "only the shopping run that gives the zero-shot accuracy")
    args = parser.parse_args()
    sizes = ({"shopping": 500, "thucnews": 1000, "stackexchange": 500, "chnsenticorp": 1000}
             if args.quick else
             {"shopping": 3000, "thucnews": 10_000, "stackexchange": 10**9,
              "chnsenticorp": 10**9})
    loaders: dict[str, Callable[[int, int], Dataset]] = {
        "shopping": shopping, "thucnews": thucnews, "stackexchange": stackexchange}
    wanted = args.only.split(",")
    out = args.out / ("quick" if args.quick else "full")
    if wanted == ["zeroshot"]:
        print_table(zeroshot_only(sizes["shopping"], args.seed, out))
        return
    warm_up()
    rows, extras = [], []
    for name, load in loaders.items():
        if name in wanted:
            found, more = bench_dataset(load(sizes[name], args.seed), out, seed=args.seed)
            rows += found
            extras += more
            print_table(found)
            print(flush=True)
    if "chnsenticorp" in wanted:
        extras.append(sentiment_only(sizes["chnsenticorp"], args.seed))
    print(f"\ncommit {commit()}, {machine()}, seed {args.seed}, "
          f"{'quick' if args.quick else 'full'} samples, 1 BLAS/OpenMP/numba thread")
    print_table(rows)
    print()
    print_table(extras)


if __name__ == "__main__":
    main()
