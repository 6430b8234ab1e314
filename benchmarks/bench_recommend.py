"""Score recommenders on a temporal split of MovieLens or a Stack Exchange site (issue 7).

    python -m benchmarks.bench_recommend --data ../shared/data/movielens_latest_small
    python -m benchmarks.bench_recommend --data ../shared/data/stackexchange_small_sites/beer

Protocol, metrics and models: ``benchmarks/recsys_eval.py``. Every method sees the same split;
the hybrid's weights are tuned on a validation split carved from the training part only.
Time-aware scores are computed at each user's last training interaction unless
``--clock next_visit`` (the instant of the user's first test interaction: optimistic).
Segment popularity uses a k-means (k=8) stand-in over genre/tag profiles unless ``--segments``
names a CSV (``user,segment``) of InterestLens segments computed from training events.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import commit, machine, peak_mb, print_table
from benchmarks.recsys_eval import (
    Segmenter,
    Split,
    content_scores,
    ease_scores,
    ease_weights,
    evaluate,
    fit_hybrid,
    genre_kmeans_segments,
    item_knn_scores,
    item_knn_weights,
    load_dataset,
    popularity_counts,
    recommend_hybrid,
    segment_popularity,
    segments_from_table,
    target_matrix,
    temporal_split,
    tfidf_item_vectors,
    time_decayed_popularity,
    top_k,
    tune_hybrid,
)

K = 10
HYBRID = "InterestLens hybrid"
Method = tuple[str, Callable[[Split], object], Callable[[object, Split, np.ndarray], np.ndarray]]


def methods(segmenter: Segmenter, segment_source: str) -> list[Method]:
    """Return the compared methods as (name, fit(split), recommend(model, split, rows))."""
    def tiled(scores: np.ndarray, split: Split, rows: np.ndarray) -> np.ndarray:
        return top_k(np.tile(scores, (len(rows), 1)), split.train[rows], k=K)

    def tuned_hybrid(split: Split) -> tuple:
        weights, _ = tune_hybrid(split, segmenter=segmenter)
        return fit_hybrid(split, segment_labels=segmenter(split)), weights

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
        ("EASE lambda=500", lambda s: ease_weights(s.train),
         lambda m, s, r: top_k(ease_scores(s.train[r], *m), s.train[r], k=K)),
        ("EASE lambda=500, positives only (hybrid term)", lambda s: ease_weights(target_matrix(s)),
         lambda m, s, r: top_k(ease_scores(target_matrix(s)[r], *m), s.train[r], k=K)),
        (f"{HYBRID} + MMR (tuned on validation)", tuned_hybrid,
         lambda m, s, r: recommend_hybrid(m[0], s, r, m[1], k=K)),
        (f"{HYBRID}, no MMR (same weights)", None,
         lambda m, s, r: recommend_hybrid(m[0], s, r, replace(m[1], diversity=0.0), k=K)),
        ("recency term alone (hybrid's half-life)", None,
         lambda m, s, r: top_k(time_decayed_popularity(
             s, r, half_life_days=m[1].half_life_days), s.train[r], k=K)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True,
                        help="MovieLens or Stack Exchange folder")
    parser.add_argument("--clock", choices=["last_seen", "next_visit"], default="last_seen",
                        help="when time-aware scores are computed for a user (see temporal_split)")
    parser.add_argument("--segments", type=Path, default=None,
                        help="CSV user,segment of InterestLens segments (training events only)")
    args = parser.parse_args()

    data = load_dataset(args.data)
    split = temporal_split(data, clock=args.clock)
    rows = split.eval_rows
    if args.segments:
        table = pd.read_csv(args.segments, dtype=str)
        segmenter = segments_from_table(dict(zip(table["user"], table["segment"], strict=True)))
        segment_source = "InterestLens segments"
    else:
        segmenter, segment_source = genre_kmeans_segments, "STAND-IN k-means k=8 on genres/tags"
    print(f"{data.name}: {len(split.users)} users ({len(rows)} with test positives), "
          f"{len(data.item_ids)} catalogue items, {len(split.train_events)} training interactions")
    results, model = [], None
    for name, fit, recommend in methods(segmenter, segment_source):
        start = time.perf_counter()
        model = fit(split) if fit else model
        fit_s = time.perf_counter() - start if fit else 0.0
        start = time.perf_counter()
        recs = recommend(model, split, rows)
        recommend_s = time.perf_counter() - start
        scores = evaluate(recs, split, rows)
        results.append({
            "commit": commit(), "machine": machine(), "dataset": f"{data.name} ({args.clock})",
            "method": name,
            "P@10": f"{scores['precision']:.4f}", "R@10": f"{scores['recall']:.4f}",
            "NDCG@10": f"{scores['ndcg']:.4f}", "coverage": f"{scores['coverage']:.4f}",
            "ILD": f"{scores['ild']:.3f}", "fit_s": f"{fit_s:.1f}",
            "recommend_s": f"{recommend_s:.1f}", "peak_MB": f"{peak_mb():.0f}"})
    print_table(results)
    print("hybrid weights (tuned on validation):", asdict(model[1]))
    base, hybrid = results[0], next(r for r in results if r["method"].startswith(HYBRID))
    for metric in ("NDCG@10", "coverage"):
        print(f"hybrid / popularity {metric}: x{float(hybrid[metric]) / float(base[metric]):.2f}")


if __name__ == "__main__":
    main()
