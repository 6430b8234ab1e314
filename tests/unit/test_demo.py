import hashlib

import pandas as pd
import pytest

from interestlens.tools.clean import clean_events, detect_language
from interestlens.tools.demo import DEMO_COLUMNS, EVENT_TYPES, generate_demo, write_demo_csv
from interestlens.tools.errors import ConfigError
from interestlens.tools.records import (
    EVENT_COLUMNS,
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    ITEM_TEXT,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    TIMESTAMP,
    USER,
)

EXPECTED_REASON = {
    "exact_duplicate": r"duplicate of event \w+",
    "near_duplicate": r"near-duplicate of event \w+",
    "spam": "repeated characters",
    "link": "only a link",
    "empty": "empty after cleaning",
}


def as_event_table(events: pd.DataFrame) -> pd.DataFrame:
    """Map the demo's input-style columns onto the event table, as ingest would."""
    ids = [hashlib.sha1(f"{r.user_id}|{r.timestamp}|{r.text}".encode()).hexdigest()[:16]
           for r in events.itertuples()]
    return pd.DataFrame({
        EVENT_ID: ids, SOURCE: "demo.csv", SOURCE_ROW: range(len(events)),
        USER: events["user_id"], TIMESTAMP: pd.to_datetime(events["timestamp"], utc=True),
        EVENT_TYPE: events["event_type"], TEXT: events["text"], ITEM_ID: events["item_id"],
        ITEM_TEXT: events["item_title"],
    }, columns=list(EVENT_COLUMNS))


def test_same_seed_same_data_other_seed_other_data():
    first, again = generate_demo(n_users=36, seed=7), generate_demo(n_users=36, seed=7)
    pd.testing.assert_frame_equal(first.events, again.events)
    assert first.groups == again.groups and first.planted == again.planted
    other = generate_demo(n_users=36, seed=8)
    assert not first.events.equals(other.events)


def test_columns_types_and_time_span(demo):
    events = demo.events
    assert tuple(events.columns) == DEMO_COLUMNS
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert events["event_type"].value_counts(normalize=True)["browse"] > 0.3
    assert events["timestamp"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    times = pd.to_datetime(events["timestamp"], utc=True)
    assert times.is_monotonic_increasing
    assert times.min() >= pd.Timestamp("2026-01-01", tz="UTC")
    assert (times.max() - times.min()).days >= 110
    assert set(events["user_id"]) == set(demo.groups)
    assert events["item_title"].notna().all() and events["item_id"].notna().all()


def test_groups_are_bilingual_and_balanced(demo):
    sizes = pd.Series(demo.groups).value_counts()
    assert len(sizes) >= 6 and sizes.min() >= 30
    clean = demo.events.drop(index=list(demo.planted))
    first_group = clean["user_id"].map(demo.groups)
    language_of_group = {
        group: clean.loc[(first_group == group) & ~clean["user_id"].isin(demo.drifted), "text"]
        .map(detect_language).mode()[0]
        for group in sizes.index
    }
    assert sorted(language_of_group.values()).count("zh") == len(sizes) // 2
    assert sorted(language_of_group.values()).count("en") == len(sizes) // 2


def test_groups_have_their_own_items(demo):
    clean = demo.events.drop(index=list(demo.planted))
    stable = clean[~clean["user_id"].isin(demo.drifted)]
    items_per_group = stable.groupby(stable["user_id"].map(demo.groups))["item_id"].agg(set)
    for group, items in items_per_group.items():
        others = set().union(*(v for g, v in items_per_group.items() if g != group))
        assert not items & others


def test_drift_in_the_last_third(demo):
    assert 0.05 <= len(demo.drifted) / len(demo.groups) <= 0.15
    events = demo.events.drop(index=list(demo.planted))
    times = pd.to_datetime(events["timestamp"], utc=True)
    late = times >= pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=80)
    item_groups = dict(zip(events["item_id"], events["item_id"].str.rsplit("-", n=1).str[0],
                           strict=True))
    for user, target in demo.drifted.items():
        assert target != demo.groups[user]
        mine = events["user_id"] == user
        assert {item_groups[i] for i in events.loc[mine & late, "item_id"]} == {target}
        assert {item_groups[i] for i in events.loc[mine & ~late, "item_id"]} <= {demo.groups[user]}
        assert (mine & late).sum() >= 4


def test_planted_rows_are_caught_by_clean_events(demo):
    assert set(demo.planted.values()) == {*EXPECTED_REASON, "html", "pii"}
    result = clean_events(as_event_table(demo.events))
    reasons = {q.row: q.reason for q in result.quarantine}
    kept_text = dict(zip(result.events[SOURCE_ROW], result.events[TEXT], strict=True))
    for row, kind in demo.planted.items():
        if kind in EXPECTED_REASON:
            assert pd.Series([reasons.get(row, "kept")]).str.fullmatch(EXPECTED_REASON[kind])[0], (
                row, kind, reasons.get(row))
        else:
            assert row in kept_text, (row, kind, reasons.get(row))
    html_texts = [kept_text[row] for row, kind in demo.planted.items() if kind == "html"]
    assert all("<" not in t and "&amp;" not in t and "track(" not in t for t in html_texts)
    pii_texts = [kept_text[row] for row, kind in demo.planted.items() if kind == "pii"]
    assert all("[EMAIL]" in t and "[PHONE]" in t and "@" not in t for t in pii_texts)


def test_duplicates_point_at_the_earlier_copy(demo):
    table = as_event_table(demo.events)
    result = clean_events(table)
    row_of = dict(zip(table[EVENT_ID], table[SOURCE_ROW], strict=True))
    for q in result.quarantine:
        if "duplicate of event" in q.reason:
            original = row_of[q.reason.rsplit(" ", 1)[1]]
            assert original < q.row
            assert table[USER][original] == table[USER][q.row]


def test_clean_rows_survive_cleaning(demo):
    result = clean_events(as_event_table(demo.events))
    quarantined = {q.row for q in result.quarantine}
    n_clean = len(demo.events) - len(demo.planted)
    assert len(quarantined - set(demo.planted)) <= 0.10 * n_clean
    assert set(result.events["language"]) == {"zh", "en"}


def test_write_demo_csv_round_trips(tmp_path):
    path = write_demo_csv(tmp_path / "demo" / "events.csv", n_users=24, seed=3)
    expected = generate_demo(n_users=24, seed=3).events
    loaded = pd.read_csv(path, keep_default_na=False)
    assert list(loaded.columns) == list(DEMO_COLUMNS)
    assert loaded["text"].tolist() == expected["text"].tolist()
    assert loaded["timestamp"].tolist() == expected["timestamp"].tolist()


def test_too_few_users_is_a_config_error():
    with pytest.raises(ConfigError, match="n_users"):
        generate_demo(n_users=5)
