"""Score recommenders on a temporal split of MovieLens or a Stack Exchange site (issue 7).

Issue 7 names this benchmark ``benchmarks/recommend.py``; house style (STYLE.md §3.11) names
benchmarks ``bench_<what>.py``, so it is this file.

    python -m benchmarks.bench_recommend --data ../shared/data/movielens_latest_small
    python -m benchmarks.bench_recommend --data ../shared/data/stackexchange_small_sites/beer

Protocol, metrics and baselines: ``benchmarks/recsys_eval.py``. Every method sees the same split.
Two rows run the product's recommender:

- "hybrid (tools.collab)": ``HybridRecommender`` on the harness's inputs (TF-IDF LSA item vectors,
  a k-means stand-in for segments, or ``--segments``), weights tuned by ``tools.collab_tune`` on a
  validation split of the training part;
- "InterestLens (product run)": ``Assistant.run`` on the training events (see
  ``benchmarks/recsys_product.py``) with its own embeddings, segments and tuning.
  Its ``fit_s`` is the whole run (tuning included) and ``recommend_s`` the time to recommend for
  every user from the built store with the weights the run saved (read the events and catalogue,
  fit, rank and explain), as ``interestlens recommend --all`` does; the product line also prints
  it with the weights tuned afresh, the CPU seconds of both and the load average (the machine may
  be shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import commit, machine, peak_mb, print_table
from benchmarks.recsys_eval import (
    Segmenter,
    Split,
    content_scores,
    evaluate,
    genre_kmeans_segments,
    item_knn_scores,
    item_knn_weights,
    load_dataset,
    lsa_item_vectors,
    popularity_counts,
    segment_popularity,
    segments_from_table,
    target_matrix,
    temporal_split,
    tfidf_item_vectors,
    top_k,
    training_interactions,
)
from benchmarks.recsys_product import catalogue_file, product_events, product_lists, run_product
from interestlens.tools.collab import HybridRecommender
from interestlens.tools.collab_tune import tune_hybrid
from interestlens.tools.ease import fit_ease

K = 10
HYBRID = "hybrid (tools.collab, tuned on validation)"
PRODUCT = "InterestLens (product run on training events)"
Method = tuple[str, Callable[[Split], object], Callable[[object, Split, np.ndarray], np.ndarray]]


def tuned_hybrid(split: Split, segmenter: Segmenter) -> HybridRecommender:
    """Return the product's hybrid fitted on the split's training part, weights tuned first."""
    interactions = training_interactions(split)
    data = {"user_segments": dict(zip(split.users, map(str, segmenter(split)), strict=True)),
            "item_vectors": lsa_item_vectors(split.item_text),
            "item_ids": split.data.item_ids.astype(str)}
    model = HybridRecommender()
    result = tune_hybrid(model, interactions, **data)
    return model.set_params(**(result.params if result else {})).fit(interactions, **data)


def hybrid_lists(model: HybridRecommender, split: Split, rows: np.ndarray) -> np.ndarray:
    """Return the hybrid's ranked lists for the user ``rows`` as catalogue indices (-1 pads)."""
    ids, _, _ = model.recommend(split.users[rows].tolist(), k=K)
    frame = pd.DataFrame([(u, r, i) for u, items in zip(split.users[rows], ids, strict=True)
                          for r, i in enumerate(items, start=1)], columns=["user", "rank", "item"])
    return product_lists(frame, split, rows, K)


def methods(segmenter: Segmenter, segment_source: str) -> list[Method]:
    """Return the compared methods as (name, fit(split), recommend(model, split, rows))."""
    def tiled(scores: np.ndarray, split: Split, rows: np.ndarray) -> np.ndarray:
        return top_k(np.tile(scores, (len(rows), 1)), split.train[rows], k=K)

    def ease(matrix: Callable[[Split], object]) -> tuple[Callable, Callable]:
        return (lambda s: fit_ease(matrix(s)),
                lambda m, s, r: top_k(m.scores(matrix(s)[r]), s.train[r], k=K))

    return [
        ("popularity (all training interactions)", popularity_counts, tiled),
        ("popularity (positive interactions)",
         lambda s: popularity_counts(s, targets_only=True), tiled),
        (f"segment popularity [{segment_source}]",
         lambda s: segment_popularity(s, segmenter(s)),
         lambda m, s, r: top_k(m[r], s.train[r], k=K)),
        ("content: user TF-IDF cosine", lambda s: tfidf_item_vectors(s.item_text),
         lambda m, s, r: top_k(content_scores(s.train[r], m), s.train[r], k=K)),
        ("item-kNN cosine, 100 neighbours", lambda s: item_knn_weights(s.train),
         lambda m, s, r: top_k(item_knn_scores(s.train[r], m), s.train[r], k=K)),
        ("EASE lambda=500", *ease(lambda s: s.train)),
        ("EASE lambda=500, positives only", *ease(target_matrix)),
        (f"{HYBRID} [{segment_source}]", lambda s: tuned_hybrid(s, segmenter), hybrid_lists),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True,
                        help="MovieLens or Stack Exchange folder")
    parser.add_argument("--segments", type=Path, default=None,
                        help="CSV user,segment of InterestLens segments (training events only)")
    parser.add_argument("--store", type=Path, default=None,
                        help="store folder for the product run (reused: its embedding cache "
                             "makes a second run faster); a temporary one by default")
    parser.add_argument("--no-product", action="store_true", help="skip the product run")
    parser.add_argument("--items", action="store_true",
                        help="give the product run the dataset's item catalogue (--items)")
    args = parser.parse_args()

    data = load_dataset(args.data)
    split = temporal_split(data)
    rows = split.eval_rows
    if args.segments:
        table = pd.read_csv(args.segments, dtype=str)
        segmenter = segments_from_table(dict(zip(table["user"], table["segment"], strict=True)))
        segment_source = "InterestLens segments"
    else:
        segmenter, segment_source = genre_kmeans_segments, "STAND-IN k-means k=8"
    print(f"{data.name}: {len(split.users)} users ({len(rows)} with test positives), "
          f"{len(data.item_ids)} catalogue items, {len(split.train_events)} training interactions")
    results = []
    for name, fit, recommend in methods(segmenter, segment_source):
        start = time.perf_counter()
        model = fit(split)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        recs = recommend(model, split, rows)
        results.append(_row(data.name, name, evaluate(recs, split, rows), fit_s,
                            time.perf_counter() - start))
        if name.startswith(HYBRID):
            print("hybrid weights (tuned on validation):", _weights(model))
    if not args.no_product:
        results.append(_product_row(args, split, rows))
    print_table(results)
    _print_ratios(results)


def _product_row(args: argparse.Namespace, split: Split, rows: np.ndarray) -> dict:
    events = product_events(args.data, split)
    with tempfile.TemporaryDirectory() as scratch:
        items = catalogue_file(args.data, Path(scratch)) if args.items else None
        run = run_product(events, store_dir=args.store or Path(scratch) / "store", k=K,
                          items=items)
    if items is not None:
        print(f"product catalogue: {items.name}")
    print(f"product run: {len(events)} training events, {run.run_s:.1f} s "
          f"(stages {run.stage_seconds}); recommending for all {len(split.users)} users from "
          f"the store: {run.recommend_s:.1f} s tuning + fitting + ranking, "
          f"{run.recommend_saved_s:.1f} s with the saved weights (CPU "
          f"{run.recommend_cpu_s[0]:.1f} s and {run.recommend_cpu_s[1]:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); same lists each time: "
          f"{run.is_deterministic}")
    print("product weights (tuned on validation):", _weights(run.weights))
    print("product reasons, first user:")
    for reason in run.recommendations["reason"].head(3):
        print("  ", reason)
    recs = product_lists(run.recommendations, split, rows, K)
    name = PRODUCT if items is None else f"{PRODUCT} + --items catalogue"
    return _row(split.data.name, name, evaluate(recs, split, rows), run.run_s,
                run.recommend_saved_s)


def _weights(model: HybridRecommender | dict) -> dict:
    params = model.get_params() if isinstance(model, HybridRecommender) else model
    names = ("collab", "collab_positive", "content", "segment", "recency", "popularity",
             "half_life_days", "clock", "diversity", "min_user_events", "cold_segment",
             "cold_recency", "cold_popularity")
    return {name: params[name] for name in names if name in params}


def _row(dataset: str, method: str, scores: dict, fit_s: float, recommend_s: float) -> dict:
    return {"commit": commit(), "machine": machine(), "dataset": dataset, "method": method,
            "P@10": f"{scores['precision']:.4f}", "R@10": f"{scores['recall']:.4f}",
            "NDCG@10": f"{scores['ndcg']:.4f}", "coverage": f"{scores['coverage']:.4f}",
            "ILD": f"{scores['ild']:.3f}", "fit_s": f"{fit_s:.1f}",
            "recommend_s": f"{recommend_s:.1f}", "peak_MB": f"{peak_mb():.0f}"}


def _print_ratios(results: list[dict]) -> None:
    popularity = results[0]
    baselines = [r for r in results if not r["method"].startswith((HYBRID, PRODUCT))]
    best = max(baselines, key=lambda r: float(r["NDCG@10"]))
    for row in results:
        if row["method"].startswith((HYBRID, PRODUCT)):
            print(f"{row['method']}: NDCG@10 x{_ratio(row, popularity, 'NDCG@10')} popularity, "
                  f"x{_ratio(row, best, 'NDCG@10')} best baseline ({best['method']}); "
                  f"coverage x{_ratio(row, popularity, 'coverage')} popularity")


def _ratio(row: dict, base: dict, metric: str) -> str:
    return f"{float(row[metric]) / max(float(base[metric]), 1e-12):.2f}"


if __name__ == "__main__":
    main()
