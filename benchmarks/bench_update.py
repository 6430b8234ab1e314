"""Incremental update vs full re-run (the issue's ``benchmarks/update.py``; house style bench_*).

    python -m benchmarks.bench_update --data ../shared/data/online_shopping_10_cats.csv \
        --work out/bench-update [--store A_COPY_OF_A_STORE_WITH_THE_EMBEDDINGS] [--held-out 1000]

1. Split the file into ``base.csv`` (all rows but ``--held-out`` random ones) and ``new.csv``
   (those), both with an ``id`` column holding the original row number, so document-mode users
   keep their ids across files. Both go to ``--work`` (never into the repository).
2. Run the main job on ``base.csv`` into the store (``--store``: pass a copy of a store that
   already embedded the file, e.g. a full run's, to skip the embedding).
3. Update the store with ``new.csv`` and time it.
4. Copy the store and time a full re-run of base + new into the copy.

Both timings exclude the neural embedding of texts: the re-run finds every text in the cache,
and the update's ``embed`` stage is subtracted when it had to embed new texts. The ratio should
be at most 10 %. It also checks that the segments no new user joined keep their ids.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import commit, machine, peak_mb, print_table
from interestlens import Assistant, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("out/bench-update"))
    parser.add_argument("--store", type=Path, default=None,
                        help="store to build the base into (default WORK/store)")
    parser.add_argument("--held-out", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    base, new, both = split_file(args.data, args.work, args.held_out, args.seed)
    store = args.store or args.work / "store"

    start = time.perf_counter()
    with Assistant(settings=Settings(store_dir=store)) as assistant:
        base_run = assistant.run([base])
    base_s = time.perf_counter() - start
    print(f"base run: {base_s:.1f} s, {base_run.summary.n_users:,} users, "
          f"{base_run.summary.n_segments} segments, {base_run.summary.n_embedded:,} embedded")

    with Assistant(settings=Settings(store_dir=store)) as assistant:
        update = assistant.update([new])
    u = update.summary
    update_s = u.total_seconds - (u.stage_seconds.get("embed", 0.0) if u.n_embedded else 0.0)
    print(f"update: {u.total_seconds:.1f} s ({u.n_new_events:,} new events, {u.n_embedded:,} "
          f"embedded, re-clustered: {u.is_reclustered}, drift {u.drift:.3f}); stages "
          f"{u.stage_seconds}; transitions {u.transitions}")

    copy = store.with_name(store.name + "-rerun")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(store, copy)
    with Assistant(settings=Settings(store_dir=copy)) as assistant:
        rerun = assistant.run([both])
    r = rerun.summary
    rerun_s = r.total_seconds
    print(f"full re-run: {rerun_s:.1f} s ({r.n_embedded:,} embedded); stages {r.stage_seconds}")

    kept, untouched = untouched_ids_kept(base_run.users, update.users)
    print_table([{
        "commit": commit(), "machine": machine(), "dataset": args.data.name,
        "n_base": f"{base_run.summary.n_kept:,}", "n_new": f"{u.n_new_events:,}",
        "rerun_s": f"{rerun_s:.1f}", "update_s": f"{update_s:.1f}",
        "ratio": f"{update_s / rerun_s:.1%}", "peak_MB": f"{peak_mb():.0f}",
        "untouched_ids_kept": f"{kept}/{untouched}",
    }])


def split_file(data: Path, work: Path, held_out: int, seed: int) -> tuple[Path, Path, Path]:
    """Write base.csv, new.csv and all.csv (base then new) with an ``id`` column into ``work``."""
    frame = pd.read_csv(data)
    frame.insert(0, "id", np.arange(len(frame)))
    rows = np.random.default_rng(seed).permutation(len(frame))[:held_out]
    is_new = np.zeros(len(frame), dtype=bool)
    is_new[rows] = True
    work.mkdir(parents=True, exist_ok=True)
    paths = work / "base.csv", work / "new.csv", work / "all.csv"
    frame[~is_new].to_csv(paths[0], index=False)
    frame[is_new].to_csv(paths[1], index=False)
    pd.concat([frame[~is_new], frame[is_new]]).to_csv(paths[2], index=False)
    return paths


def untouched_ids_kept(before: pd.DataFrame, after: pd.DataFrame) -> tuple[int, int]:
    """Return how many untouched segments keep their id, out of how many are untouched.

    A segment is untouched when all the users it had before are still together in one segment
    after the update, with no user of another segment (new users may join it). Compared by
    members, whatever the ids are.
    """
    old = before.groupby("segment")["user"].agg(frozenset)
    origin = dict(zip(before["user"], before["segment"]))
    where = dict(zip(after["user"], after["segment"]))
    untouched = kept = 0
    for segment_id, members in old.items():
        targets = {where.get(user) for user in members}
        if len(targets) != 1:
            continue  # its members moved apart
        (target,) = targets
        others = after.loc[after["segment"] == target, "user"].map(origin).dropna()
        if (others != segment_id).any():
            continue  # users of another segment moved in
        untouched += 1
        kept += target == segment_id
    return kept, untouched


if __name__ == "__main__":
    main()
