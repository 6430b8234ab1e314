"""`interestlens run` / `interestlens demo` end to end, as a user runs them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer
from sklearn.metrics import normalized_mutual_info_score

from .run_cli import N_USERS, interestlens


def test_demo_writes_every_output_with_the_promised_columns(demo_run):
    out, first, _ = demo_run
    assert first.returncode == 0, first.stderr
    for name in ("segments.json", "users.csv", "events.csv", "recommendations.csv",
                 "report.md", "report.html", "quarantine.csv", "segments_map.png"):
        assert (out / name).is_file(), name
    users = pd.read_csv(out / "users.csv")
    assert list(users.columns[:4]) == ["user", "segment", "confidence", "top_interests"]
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns) == ["event_id", "user", "language", "sentiment", "text"]
    assert events["sentiment"].between(-1, 1).all()
    assert set(events["language"]) >= {"zh", "en"}
    recs = pd.read_csv(out / "recommendations.csv")
    assert list(recs.columns[:5]) == ["user", "rank", "item", "score", "reason"]
    assert (pd.read_csv(out / "quarantine.csv").columns.tolist()
            == ["source", "row", "reason", "raw"])


def test_demo_counts_add_up_and_nothing_is_lost(demo_run):
    out, first, _ = demo_run
    raw = pd.read_csv(out / "demo_events.csv")
    kept = pd.read_csv(out / "events.csv")
    quarantined = pd.read_csv(out / "quarantine.csv")
    assert len(raw) == len(kept) + len(quarantined)
    assert len(quarantined) >= 5  # the generator plants spam, duplicates and empty rows
    counts = f"{len(raw):,} in = {len(kept):,} kept + {len(quarantined):,} quarantined"
    assert counts in first.stdout


def test_demo_segments_recover_the_planted_interest_groups(demo_run, demo):
    out, _, _ = demo_run
    from interestlens.tools.demo import generate_demo

    groups = generate_demo(n_users=N_USERS, seed=0).groups
    users = pd.read_csv(out / "users.csv", dtype={"user": str})
    truth = users["user"].map(groups)
    assert truth.notna().all()
    assert normalized_mutual_info_score(truth, users["segment"]) >= 0.6
    segments = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert len({s["name"] for s in segments}) == len(segments)
    assert all(s["naming_mode"] == "extractive" and s["keywords"] for s in segments)
    assert sum(s["n_users"] for s in segments) == len(users)


def test_recommendations_exclude_items_the_user_has_seen(demo_run):
    out, _, _ = demo_run
    raw = pd.read_csv(out / "demo_events.csv", dtype=str)
    seen = set(zip(raw["user_id"], raw["item_id"]))
    recs = pd.read_csv(out / "recommendations.csv", dtype={"user": str, "item": str})
    assert len(recs) > 0
    assert not any((u, i) in seen for u, i in zip(recs["user"], recs["item"]))
    assert recs.groupby("user")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()


def test_second_run_into_the_same_store_embeds_nothing(demo_run):
    _, first, second = demo_run
    assert second.returncode == 0, second.stderr
    assert " 0 texts embedded" in second.stdout
    assert " 0 texts embedded" not in first.stdout


def test_report_shows_pipeline_map_and_cards(demo_run):
    out, _, _ = demo_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "flowchart" in html and "data:image/png;base64," in html
    segments = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert all(s["name"] in html or s["name"].replace("&", "&amp;") in html for s in segments)


def test_interest_labels_and_topic_shares_reach_every_output(demo_run, tmp_path):
    out, _, _ = demo_run
    from interestlens.tools.demo import generate_demo

    store = tmp_path / "store"
    shutil.copytree(out / "store", store)  # warm embedding cache: only the labels are new
    labels = tmp_path / "labels.txt"
    names = {"zh-coffee": "咖啡", "zh-hiking": "登山", "zh-baby": "婴儿",
             "en-photo": "camera", "en-running": "running", "en-boardgames": "board games"}
    labels.write_text("\n".join(names.values()) + "\n", encoding="utf-8")
    done = interestlens("run", out / "demo_events.csv", "--out", tmp_path / "out",
                        "--store", store, "--interests", labels)
    assert done.returncode == 0, done.stderr
    users = pd.read_csv(tmp_path / "out" / "users.csv", dtype={"user": str})
    truth = users["user"].map(generate_demo(n_users=N_USERS, seed=0).groups).map(names)
    assert (users["top_label"] == truth).mean() >= 0.7
    first = users["label_scores"].str.split(";").map(lambda parts: parts[0].split("="))
    assert (first.str[0] == users["top_label"]).all()
    assert first.str[1].astype(float).between(0, 1).all()
    segments = json.loads((tmp_path / "out" / "segments.json").read_text(encoding="utf-8"))
    assert all(len(s["interest_labels"]) == 3 for s in segments)
    assert "Interest labels:" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    topics = pd.read_csv(tmp_path / "out" / "user_topics.csv", dtype={"user": str})
    assert topics["user"].tolist() == users["user"].tolist()
    shares = topics.filter(regex=r"^topic_\d+$")
    assert shares.shape[1] >= 2
    assert shares.sum(axis=1).between(0.99, 1.01).all()


@pytest.mark.parametrize("content, suffix, message", [
    (b"", ".csv", r"empty"),
    (b"user,score\n1,2\n", ".csv", r"text column"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", ".csv", r"binary"),
    (b"a,b\n", ".xlsx", r"unsupported file type"),
])
def test_bad_input_gives_one_line_error_and_exit_code(tmp_path, content, suffix, message):
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(content)
    result = interestlens("run", bad, "--out", tmp_path / "out", "--store", tmp_path / "store")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(bad.name) in lines[0]
    assert re.search(message, lines[0], flags=re.IGNORECASE)
    assert not (tmp_path / "store").exists()  # a run that wrote nothing leaves no store behind


def test_all_rows_quarantined_exits_non_zero_and_keeps_the_rows(tmp_path):
    bad = tmp_path / "spam.csv"
    bad.write_text("user,text\n1,!!!!!!\n2,\n3,哈哈哈哈哈哈哈哈\n", encoding="utf-8")
    result = interestlens("run", bad, "--out", tmp_path / "out", "--store", tmp_path / "store")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no usable rows" in result.stderr
    assert len(pd.read_csv(tmp_path / "out" / "quarantine.csv")) == 3


@pytest.mark.parametrize("out_name, extra, message", [
    (".", [], r"would overwrite the input"),
    ("events.csv", [], r"exists and is not a folder"),
    ("out", ["--lexical-weight", "5"], r"lexical_weight.*less than or equal to 1"),
])
def test_bad_options_are_refused_before_any_work(tmp_path, out_name, extra, message):
    data = tmp_path / "events.csv"
    data.write_text("user,text\n1,I love espresso and grinders\n", encoding="utf-8")
    before = data.read_bytes()
    result = interestlens("run", data, "--out", tmp_path / out_name, "--store",
                          tmp_path / "store", *extra)
    assert result.returncode == 3, result.stderr
    assert re.search(message, result.stderr)
    assert "Traceback" not in result.stderr
    assert data.read_bytes() == before


def test_unexpected_errors_leave_their_traceback_in_a_private_file(capsys):
    from interestlens.cli import _errors_as_one_line

    logs = []
    for _ in range(2):
        with pytest.raises(typer.Exit), _errors_as_one_line(debug=False):
            raise RuntimeError("boom")
        line = capsys.readouterr().err
        assert line.startswith("error: unexpected RuntimeError: boom (traceback in ")
        logs.append(Path(re.search(r"traceback in (.+)\)$", line.strip())[1]))
    assert logs[0] != logs[1]  # one file per failure: no fixed, shared name in /tmp
    for log in logs:
        assert "RuntimeError: boom" in log.read_text(encoding="utf-8")
        assert log.stat().st_mode & 0o077 == 0
        log.unlink()
