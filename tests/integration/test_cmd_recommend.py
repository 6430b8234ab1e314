"""`interestlens run --items` and `interestlens recommend` with filters and the batch export."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from .run_cli import interestlens

GROUPS = ("boardgames", "photo", "running", "baby", "coffee", "hiking")
PLANTED = [("", "no id", "coffee", "2024-01-01"),
           ("DUPLICATE", "dup", "coffee", "2024-01-01"),
           ("bad-date", "when?", "coffee", "someday")]


@pytest.fixture(scope="module")
def catalogue_run(demo_run, tmp_path_factory):
    """A copy of the demo store re-run with a catalogue file and a user with one event."""
    out, first, _ = demo_run
    assert first.returncode == 0, first.stderr
    work = tmp_path_factory.mktemp("catalogue")
    shutil.copytree(out / "store", work / "store")  # its embedding cache makes the re-run quick
    events = pd.read_csv(out / "demo_events.csv", dtype=str)
    newcomer = {"user_id": "newcomer", "timestamp": "2026-04-15 10:00:00",
                "event_type": "purchase", "item_id": "zh-coffee-000", "item_title": "Hario",
                "text": "Bought a pour-over kettle for coffee at home, lovely build"}
    pd.concat([events, pd.DataFrame([newcomer])]).to_csv(work / "events.csv", index=False)
    items = (events.dropna(subset=["item_id"]).drop_duplicates("item_id")
             .sort_values("item_id")[["item_id", "item_title"]].reset_index(drop=True))
    items["category"] = items["item_id"].str.split("-").str[1]
    items["date"] = [f"{2020 + n % 4}-03-01" for n in range(len(items))]
    planted = pd.DataFrame(PLANTED, columns=["item_id", "item_title", "category", "date"])
    planted.loc[1, "item_id"] = items["item_id"][0]
    pd.concat([items, planted]).rename(columns={"item_title": "title"}).to_csv(
        work / "items.csv", index=False)
    result = interestlens("run", work / "events.csv", "--items", work / "items.csv",
                          "--out", work / "run", "--store", work / "store")
    return work, items, result


def recommend(work, *args):
    return interestlens("recommend", *args, "--store", work / "store")


def shown_items(stdout):
    return [line.split()[1] for line in stdout.splitlines() if line[:3].strip().rstrip(".")
            .isdigit()]


def test_run_with_a_catalogue_quarantines_its_bad_rows(catalogue_run):
    work, items, result = catalogue_run
    assert result.returncode == 0, result.stderr
    assert f"catalogue file: {len(items) + 3} rows, 3 quarantined" in result.stdout
    quarantine = pd.read_csv(work / "run" / "quarantine.csv")
    reasons = quarantine[quarantine["source"] == "items.csv"].set_index("row")["reason"]
    first = items["item_id"][0]
    assert reasons.to_dict() == {len(items): "empty item id",
                                 len(items) + 1: f"repeated item id {first} (first at row 0)",
                                 len(items) + 2: "date 'someday' is not a date"}
    recs = pd.read_csv(work / "run" / "recommendations.csv")
    assert recs["evidence"].notna().all() and (recs["evidence"].str.len() > 0).all()
    assert set(recs[recs["user"] == "newcomer"]["level"]) == {"cold_start"}
    assert (recs[recs["user"] != "newcomer"]["level"] == "user").all()


def test_recommend_filters_by_category_and_date(catalogue_run):
    work, items, _ = catalogue_run
    result = recommend(work, "u0002", "-k", "4", "--category", "Coffee", "--since", "2022-01-01")
    assert result.returncode == 0, result.stderr
    dates = dict(zip(items["item_id"], items["date"]))
    shown = shown_items(result.stdout)
    assert len(shown) == 4
    assert all(item.split("-")[1] == "coffee" and dates[item] >= "2022" for item in shown)
    assert result.stdout.count("    evidence: ") == 4
    segment = recommend(work, "--segment", "S1", "-k", "3", "--until", "2020-03-01")
    assert segment.returncode == 0, segment.stderr
    assert all(dates[item] == "2020-03-01" for item in shown_items(segment.stdout))


def test_cold_start_user_is_labelled(catalogue_run):
    work, _, _ = catalogue_run
    result = recommend(work, "newcomer", "-k", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("cold start: segment-level]") == 2
    assert "you have few events yet" in result.stdout or "你的记录还不多" in result.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (("u0002", "--category", "tea"), 3, r"--category 'tea': unknown category \(known: "),
    (("u0002", "--since", "someday"), 3, "--since 'someday': not a date"),
    (("u0002", "--since", "2031-01-01"), 3, "no item passes the filters"),
    (("--all",), 3, "--all and --out FILE"),
    (("u0002", "-k", "0"), 3, r"recommendations need k >= 1, got k=0$"),
    (("u0002", "-k", "-1000", "--category", "coffee"), 3, "recommendations need k >= 1"),
    (("--segment", "S1", "-k", "-1000", "--since", "2020-01-01"), 3,
     "recommendations need k >= 1"),
])
def test_bad_filters_are_one_line_errors(catalogue_run, args, code, message):
    work, _, _ = catalogue_run
    result = recommend(work, *args)
    assert result.returncode == code
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert pd.Series([result.stderr]).str.contains(message).all(), result.stderr


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_batch_export_for_all_users(catalogue_run, suffix):
    work, _, _ = catalogue_run
    path = work / f"all.{suffix}"
    result = recommend(work, "--all", "--out", path, "-k", "3", "--category", "photo")
    assert result.returncode == 0, result.stderr
    if suffix == "csv":
        frame = pd.read_csv(path, dtype={"user": str})
        evidence = frame["evidence"].str.split(" | ", regex=False)
    else:
        frame = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
        evidence = frame["evidence"]
    users = pd.read_csv(work / "run" / "users.csv", dtype={"user": str})
    assert set(frame["user"]) == set(users["user"])
    assert (frame.groupby("user").size() == 3).all()
    assert frame["item"].str.startswith("en-photo-").all()
    assert evidence.map(len).gt(0).all()
    assert set(frame[frame["user"] == "newcomer"]["level"]) == {"cold_start"}
    assert list(frame.columns)[:4] == ["user", "segment", "level", "rank"]


def test_a_catalogue_without_an_id_column_is_a_one_line_error(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("user,text\nu1,Espresso grinders compared in depth\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("title,genre\nGrinder,coffee\n", encoding="utf-8")
    result = interestlens("run", events, "--items", items, "--out", tmp_path / "out",
                          "--store", tmp_path / "store")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {items}: no item id column (item_id, id, sku, "
                                     "movieId, 商品ID…; columns: title, genre)")
