import itertools
import json
import logging

import numpy as np
import pandas as pd
import pytest

from interestlens.tools import report
from interestlens.tools.records import QuarantinedRow, Segment
from interestlens.tools.report import (
    STAGES,
    pipeline_mermaid,
    project_2d,
    render_segment_map,
    stage_counts,
    write_outputs,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRICKY = 'says "hi", then\nnew line, 逗号，<b>bold</b>'


def segment(segment_id, name, **changes):
    fields = dict(segment_id=segment_id, cluster_id=0, name=name, description=f"about {name}",
                  naming_mode="extractive", naming_note="offline", n_users=2, share=0.5,
                  n_events=3, keywords=("咖啡", "espresso"), sentiment=0.3,
                  top_event_types=("review",), representative_texts=("好喝的咖啡",),
                  mean_confidence=0.8)
    return Segment(**(fields | changes))


@pytest.fixture
def run(tmp_path):
    segments = [segment("s0", "咖啡、拿铁"),
                segment("s1", "<script>alert(1)</script>", cluster_id=-1,
                        representative_texts=("<script>steal()</script>",))]
    users = pd.DataFrame({"is_outlier": [False, False, True, True],
                          "top_interests": [["咖啡", "拿铁"], ("espresso",), "tea;milk", None],
                          "confidence": [0.91234567, 0.8, 0.2, 0.1],
                          "segment": ["s0", "s0", "s1", "s1"], "user": ["a", "b", "c", "d"]})
    events = pd.DataFrame({"text": [TRICKY, "plain"], "sentiment": [0.5, -0.25],
                           "language": ["zh", "en"], "user": ["a", "c"],
                           "event_id": ["e1", "e2"], "extra": [1, 2]})
    recs = pd.DataFrame({"reason_mode": ["template"], "user": ["a"], "rank": [1],
                         "item": ["e2"], "score": [0.7], "reason": ['matches "x"']})
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0], [6.0, 5.0]])
    summary = {"inputs": ("reviews.csv",), "n_input_rows": 62774, "n_kept": 2,
               "n_quarantined": 0, "embedding_model": "all-MiniLM-L6-v2",
               "naming_mode": "extractive", "stage_seconds": {"clean": 1.25},
               "total_seconds": 4.5}
    out = tmp_path / "out"
    paths = write_outputs(out, segments=segments, users=users, events=events,
                          recommendations=recs, quarantine=[], map_coords=coords,
                          map_segments=["s0", "s0", "s1", "s1"], summary=summary)
    return out, paths, segments


def test_every_file_is_written_atomically(run):
    out, paths, _ = run
    expected = {"segments.json", "users.csv", "events.csv", "recommendations.csv",
                "quarantine.csv", "segments_map.png", "report.md", "report.html"}
    assert set(paths) == expected
    assert {p.name for p in out.iterdir()} == expected  # no temporary files left behind
    assert all(paths[name] == out / name for name in expected)


def test_tables_have_the_exact_required_columns(run):
    out, _, _ = run
    users = pd.read_csv(out / "users.csv")
    assert list(users.columns) == ["user", "segment", "confidence", "top_interests", "is_outlier"]
    assert users["top_interests"].fillna("").tolist() == ["咖啡;拿铁", "espresso", "tea;milk", ""]
    assert users["confidence"].iloc[0] == pytest.approx(0.9123)
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns) == ["event_id", "user", "language", "sentiment", "text"]
    recs = pd.read_csv(out / "recommendations.csv")
    assert list(recs.columns) == ["user", "rank", "item", "score", "reason", "reason_mode"]
    assert recs["reason"].iloc[0] == 'matches "x"'


def test_csv_text_survives_commas_quotes_newlines_and_chinese(run):
    out, _, _ = run
    events = pd.read_csv(out / "events.csv")
    assert events["text"].tolist() == [TRICKY, "plain"]


def test_quarantine_csv_has_a_header_when_empty(run):
    out, _, _ = run
    assert (out / "quarantine.csv").read_text(encoding="utf-8") == "source,row,reason,raw\n"


def test_quarantine_rows_are_written_with_row_numbers(tmp_path):
    rows = [QuarantinedRow(source="a.csv", row=7, reason="empty text", raw='x,"y"'),
            QuarantinedRow(source="a.csv", row=None, reason="bad encoding")]
    table = pd.read_csv(report.write_quarantine(tmp_path, rows))
    assert table.columns.tolist() == ["source", "row", "reason", "raw"]
    assert table["row"].iloc[0] == 7 and pd.isna(table["row"].iloc[1])
    assert table["raw"].iloc[0] == 'x,"y"'


def test_segments_json_round_trips_with_chinese_intact(run):
    out, _, segments = run
    raw = (out / "segments.json").read_text(encoding="utf-8")
    assert "咖啡、拿铁" in raw  # not \\u-escaped
    loaded = [Segment.model_validate(item) for item in json.loads(raw)]
    assert loaded == segments
    assert {"segment_id", "cluster_id", "naming_mode", "naming_note", "n_users", "share",
            "mean_confidence", "representative_texts"} <= set(json.loads(raw)[0])


def test_html_report_escapes_user_text_and_is_self_contained(run):
    out, _, _ = run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "<script>steal()" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "data:image/png;base64," in html and "咖啡、拿铁" in html
    assert '<pre class="mermaid">' in html and "flowchart LR" in html
    assert html.count("<script") == 1 and "cdn.jsdelivr.net/npm/mermaid" in html
    assert "62,774" in html and "all-MiniLM-L6-v2" in html


def test_markdown_report_links_the_map_and_escapes_markup(run):
    out, _, _ = run
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![" in md and "(segments_map.png)" in md
    assert "```mermaid\nflowchart LR" in md
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "### 咖啡、拿铁" in md and "62,774" in md


def test_map_png_is_valid(run):
    out, _, _ = run
    assert (out / "segments_map.png").read_bytes().startswith(PNG_SIGNATURE)


def test_no_map_when_no_coordinates(tmp_path):
    paths = write_outputs(tmp_path, segments=[], users=pd.DataFrame(), events=pd.DataFrame(),
                          recommendations=pd.DataFrame(), quarantine=[], map_coords=None,
                          map_segments=None, summary={})
    assert "segments_map.png" not in paths and not (tmp_path / "segments_map.png").exists()
    assert "No map" in paths["report.html"].read_text(encoding="utf-8")
    assert pd.read_csv(paths["users.csv"]).columns.tolist()[:4] == [
        "user", "segment", "confidence", "top_interests"]


def test_missing_required_column_raises(tmp_path):
    events = pd.DataFrame({"event_id": ["e1"], "user": ["a"], "text": ["x"]})
    with pytest.raises(ValueError, match="language"):
        write_outputs(tmp_path, segments=[], users=pd.DataFrame(), events=events,
                      recommendations=pd.DataFrame(), quarantine=[], map_coords=None,
                      map_segments=None, summary={})


def test_mermaid_lists_every_stage_in_order_with_counts():
    text = pipeline_mermaid({"clean": "62,100 kept / 674 quarantined", "profile": 1234,
                             "name": 'say "hi" <b>'})
    assert text.startswith("flowchart LR\n")
    for stage in STAGES:
        assert f'    {stage}["{stage}' in text
    edges = [line.strip() for line in text.splitlines() if "-->" in line]
    assert edges == [f"{a} --> {b}" for a, b in itertools.pairwise(STAGES)]
    assert 'clean["clean<br/>62,100 kept / 674 quarantined"]' in text
    assert 'profile["profile<br/>1,234"]' in text
    assert 'name["name<br/>say #quot;hi#quot; #lt;b#gt;"]' in text


def test_stage_counts_come_from_the_summary_and_overrides_win():
    counts = stage_counts({"n_input_rows": 62774, "n_kept": 62100, "n_quarantined": 674,
                           "n_users": 500, "stage_seconds": {"clean": 2.0, "bogus": 1.0},
                           "stage_counts": {"profile": "custom"}})
    assert counts["ingest"] == "62,774 rows"
    assert counts["clean"] == "62,100 kept / 674 quarantined · 2.0 s"
    assert counts["profile"] == "custom" and "bogus" not in counts and "embed" not in counts


def test_project_2d_samples_deterministically():
    X = np.random.default_rng(1).normal(size=(60, 12))
    rows, coords = project_2d(X, max_points=40)
    again_rows, again = project_2d(X, max_points=40)
    assert coords.shape == (40, 2) and len(set(rows)) == 40 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, again_rows)
    np.testing.assert_allclose(coords, again)


@pytest.mark.parametrize("n_rows, n_cols", [(0, 5), (1, 5), (6, 5), (6, 1)])
def test_project_2d_handles_tiny_inputs_without_tsne(n_rows, n_cols):
    rows, coords = project_2d(np.arange(n_rows * n_cols, dtype=float).reshape(n_rows, n_cols))
    assert rows.tolist() == list(range(n_rows)) and coords.shape == (n_rows, 2)
    assert np.isfinite(coords).all()


def test_map_without_cjk_font_labels_legend_with_ids(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(report, "cjk_font_path", lambda: None)
    caplog.set_level(logging.WARNING, logger="interestlens.tools.report")
    path = render_segment_map(np.zeros((3, 2)), ["s0", "s1", "s1"],
                              {"s0": "咖啡、拿铁", "s1": "tea · milk"}, tmp_path / "map.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert "fonts-noto-cjk" in caplog.text
    assert report._legend_label("s0", "咖啡、拿铁", 3, None) == "s0 (3)"
    assert report._legend_label("s1", "tea · milk", 2, None) == "s1: tea, milk (2)"
    assert report._legend_label("s2", "咖啡、拿铁 2", 5, None) == "s2 (5)"
    assert report._legend_label("s0", "咖啡、拿铁", 3, "/fonts/cjk.ttc") == "s0: 咖啡、拿铁 (3)"
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # DejaVu stands in for CJK
def test_map_uses_the_font_file_it_finds(tmp_path, monkeypatch, caplog):
    from matplotlib import font_manager

    monkeypatch.setattr(report, "cjk_font_path", lambda: font_manager.findfont("DejaVu Sans"))
    caplog.set_level(logging.WARNING, logger="interestlens.tools.report")
    path = render_segment_map(np.eye(2), ["s0", "s1"], {"s0": "咖啡", "s1": "tea"},
                              tmp_path / "map.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE) and "fonts-noto-cjk" not in caplog.text


def test_stage_counts_say_one_segment_not_one_segments():
    counts = stage_counts({"n_input_rows": 1, "n_users": 1, "n_clusters": 1, "n_outliers": 0,
                           "n_segments": 1, "n_recommendations": 2, "n_items": 1234})
    assert counts["ingest"] == "1 row" and counts["profile"] == "1 user"
    assert counts["cluster"] == "1 cluster / 0 outliers" and counts["segment"] == "1 segment"
    assert counts["recommend"] == "2 recommendations" and counts["store"] == "1,234 items"
