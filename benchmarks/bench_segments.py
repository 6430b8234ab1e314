"""Run the main job on a labelled file and score its segments against the labels.

    python -m benchmarks.bench_segments --data ../shared/data/online_shopping_10_cats.csv \
        --label cat --out out/zh-reviews

Document-mode runs map each user id back to its input row (the 0-based row number), so the
segment of every kept row can be compared with that row's label (NMI, ARI). ``--scored-out DIR``
scores the ``users.csv`` of an earlier ``interestlens run`` of the same file instead of running.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from benchmarks.common import commit, machine, peak_mb, print_table
from interestlens import Assistant, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--label", required=True, help="column holding the true class")
    parser.add_argument("--out", type=Path, default=Path("out/bench-segments"))
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=0, help="balanced sample size (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scored-out", type=Path, default=None,
                        help="score this earlier run's users.csv instead of running")
    args = parser.parse_args()
    if args.scored_out:
        users = pd.read_csv(args.scored_out / "users.csv", dtype={"user": str})
        print_scores(pd.read_csv(args.data), args.label, users, name=args.data.name)
        return

    frame = pd.read_csv(args.data)
    if args.sample:
        per_class = args.sample // frame[args.label].nunique()
        frame = pd.concat([group.sample(min(len(group), per_class), random_state=args.seed)
                           for _, group in frame.groupby(args.label)]).reset_index(drop=True)
        data = args.out / f"sample-{args.sample}.csv"
        data.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(data, index=False)
    else:
        data = args.data
    store = args.store or args.out / "store"
    start = time.perf_counter()
    result = Assistant(settings=Settings(store_dir=store)).run([data], out_dir=args.out)
    wall = time.perf_counter() - start

    print_scores(frame, args.label, result.users, name=args.data.name,
                 extra={"wall_s": f"{wall:.1f}", "peak_MB": f"{peak_mb():.0f}",
                        "clusters": result.summary.n_clusters,
                        "embedded": result.summary.n_embedded})
    print("stage seconds:", result.summary.stage_seconds)


def print_scores(frame: pd.DataFrame, label: str, users: pd.DataFrame, *, name: str,
                 extra: dict | None = None) -> None:
    """Print NMI/ARI of the users' segments against the label of their input rows."""
    rows = users["user"].astype(int).to_numpy()
    truth = frame[label].to_numpy()[rows]
    print_table([{
        "commit": commit(), "machine": machine(), "dataset": name, "n_rows": len(frame),
        "n_kept": len(users), "segments": users["segment"].nunique(),
        "outliers_%": f"{100 * users['is_outlier'].mean():.1f}",
        "NMI": f"{normalized_mutual_info_score(truth, users['segment']):.3f}",
        "ARI": f"{adjusted_rand_score(truth, users['segment']):.3f}",
        **(extra or {}),
    }])


if __name__ == "__main__":
    main()
