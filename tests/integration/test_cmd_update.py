"""`interestlens update`, `trends` and `run --snapshots` as a user runs them."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from interestlens.tools.demo import generate_demo
from interestlens.vectorstore import Store

from .run_cli import N_USERS, interestlens


def counts(store_dir):
    """Events, cached embeddings, snapshots and transitions held by a store."""
    with Store(store_dir) as store:
        return {
            "events": len(store.read_table("events")),
            "cache": int(store.query("SELECT count(*) AS n FROM embedding_cache")["n"].iat[0]),
            "snapshots": len(store.snapshots()),
            "transitions": len(store.snapshot_transitions()),
        }


@pytest.fixture(scope="module")
def updated(demo_run, tmp_path_factory):
    """A copy of the demo store, updated twice with the same file of new events."""
    out, _, _ = demo_run
    work = tmp_path_factory.mktemp("update")
    store = work / "store"
    shutil.copytree(out / "store", store)
    later = generate_demo(n_users=N_USERS, seed=7, start="2026-05-01").events.iloc[:60].copy()
    later.loc[later.index[:12], "user_id"] = "newcomer-" + later["user_id"].iloc[:12]
    data = work / "later.csv"
    later.to_csv(data, index=False)
    before = counts(store)
    first = interestlens("update", data, "--store", store, "--out", work / "out")
    middle = counts(store)
    second = interestlens("update", data, "--store", store)
    newcomers = later.loc[later["user_id"].str.startswith("newcomer-"), "user_id"].nunique()
    return {"store": store, "out": work / "out", "first": first, "second": second,
            "counts": (before, middle, counts(store)), "n_newcomers": newcomers}


def test_update_adds_the_new_events_and_records_a_snapshot(updated):
    first, (before, middle, _) = updated["first"], updated["counts"]
    assert first.returncode == 0, first.stderr
    assert re.search(r"\b60 new events \(0 already in the store", first.stdout)
    assert middle["events"] > before["events"]
    assert middle["snapshots"] == before["snapshots"] + 1
    assert middle["cache"] > before["cache"]  # only the new texts were embedded


def test_the_same_file_twice_adds_nothing(updated):
    second, (_, middle, after) = updated["second"], updated["counts"]
    assert second.returncode == 0, second.stderr
    assert re.search(r"(?<!\d)0 new events \(60 already in the store", second.stdout)
    assert "nothing changed" in second.stdout
    assert after == middle  # no event, embedding, snapshot or transition added


def test_update_report_shows_the_transitions_and_sizes_over_time(updated):
    report = (updated["out"] / "report.md").read_text(encoding="utf-8")
    assert "## Segment evolution" in report and "sankey-beta" in report
    assert (updated["out"] / "segment_sizes.png").read_bytes()[:4] == b"\x89PNG"
    users = (updated["out"] / "users.csv").read_text(encoding="utf-8")
    assert users.count("\nnewcomer-") == updated["n_newcomers"] > 0


def test_trends_prints_sizes_per_snapshot_and_the_transitions(updated):
    shown = interestlens("trends", "--store", updated["store"])
    assert shown.returncode == 0, shown.stderr
    assert "Active users per segment and snapshot" in shown.stdout
    for label in ("run 1", "run 2", "update 3"):
        assert label in shown.stdout
    assert "Transitions" in shown.stdout and "survived transitions not listed" in shown.stdout


def test_recluster_is_forced_on_request(updated, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(updated["store"], store)
    extra = generate_demo(n_users=N_USERS, seed=8, start="2026-06-01").events.iloc[:20]
    extra.to_csv(tmp_path / "extra.csv", index=False)
    forced = interestlens("update", tmp_path / "extra.csv", "--store", store, "--recluster")
    assert forced.returncode == 0, forced.stderr
    assert "re-clustered (requested)" in forced.stdout


@pytest.mark.parametrize("name, content, code, message", [
    ("x.csv", "user_id,text\nu1,hello there\n", 4, r"nothing to update .*interestlens run"),
    ("reviews.csv", "review\ngreat coffee grinder\nterrible tent\n", 3,  # document mode
     r"reviews.csv: no user and no id column; row numbers .*\(--map id=COLUMN\)"),
])
def test_bad_updates_are_one_line_errors(tmp_path, name, content, code, message):
    data = tmp_path / name
    data.write_text(content, encoding="utf-8")
    result = interestlens("update", data, "--store", tmp_path / "store")
    assert result.returncode == code
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr)
    assert not (tmp_path / "store").exists()


def test_run_with_snapshots_replays_the_history_window_by_window(demo_run, tmp_path):
    out, _, _ = demo_run
    store = tmp_path / "store"
    shutil.copytree(out / "store", store)  # its cache holds every demo text
    replay = interestlens("run", out / "demo_events.csv", "--snapshots", "2", "--store", store,
                          "--out", tmp_path / "out")
    assert replay.returncode == 0, replay.stderr
    assert "Replay" in replay.stdout and "update" in replay.stdout
    with Store(store) as opened:
        kinds = opened.snapshots()["kind"].tolist()
    assert kinds[-2:] == ["run", "update"]
    assert (tmp_path / "out" / "report.html").is_file()
    # every row set aside for itself (not as someone's duplicate) is in the replay's quarantine,
    # whichever window it fell in: the first (read errors) or a later one (noise)
    def set_aside(folder):
        table = pd.read_csv(folder / "quarantine.csv")
        alone = table[~table["reason"].str.contains("duplicate")]
        return set(zip(alone["row"], alone["reason"], strict=True))
    expected = set_aside(out)
    assert len(expected) >= 2 and expected <= set_aside(tmp_path / "out")
    assert "quarantined over all windows" in replay.stdout


def test_an_update_with_nothing_new_still_writes_its_quarantine(demo_run, tmp_path):
    out, _, _ = demo_run
    store = tmp_path / "store"
    shutil.copytree(out / "store", store)
    again = interestlens("update", out / "demo_events.csv", "--store", store,
                         "--out", tmp_path / "out")
    assert again.returncode == 0, again.stderr
    assert "0 new events" in again.stdout
    quarantine = pd.read_csv(tmp_path / "out" / "quarantine.csv")
    assert "empty text" in set(quarantine["reason"])  # set aside at read, as in the run
