"""The facade calls behind the web UI's views: preview, run summary, user map, a user's events."""

from __future__ import annotations

import pytest

from interestlens import Assistant
from interestlens.agent import InputError, write_demo_csv

DEMO_ROLES = {"user": "user_id", "text": "text", "timestamp": "timestamp",
              "event_type": "event_type", "item_id": "item_id", "item_text": "item_title"}


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory):
    return write_demo_csv(tmp_path_factory.mktemp("views") / "demo.csv", n_users=60, seed=3)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, demo_csv):
    with Assistant(store=tmp_path_factory.mktemp("views") / "store") as built:
        assert built.run_summary() is None
        built.run(demo_csv)
        yield built


def test_preview_shows_detected_roles_counts_and_first_rows(demo_csv):
    (preview,) = Assistant(store=demo_csv.parent / "unused").preview([demo_csv])
    n_rows = len(demo_csv.read_text(encoding="utf-8").splitlines()) - 1
    assert (preview.source, preview.kind, preview.encoding) == ("demo.csv", "csv", "utf-8")
    assert preview.roles == DEMO_ROLES
    assert preview.n_rows == n_rows and 0 < preview.n_usable <= n_rows
    assert list(preview.sample.columns) == list(preview.columns) == [
        "user_id", "timestamp", "event_type", "text", "item_id", "item_title"]
    assert len(preview.sample) == 5


def test_preview_applies_a_column_map_and_names_a_bad_file(demo_csv, tmp_path):
    previewer = Assistant(store=tmp_path / "unused")
    (mapped,) = previewer.preview([demo_csv], column_map={"text": "item_title"})
    assert mapped.roles["text"] == "item_title"
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "fine"}, {', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json: invalid JSON"):
        previewer.preview([broken])


def test_preview_of_a_stack_exchange_folder(shared_data, tmp_path):
    (preview,) = Assistant(store=tmp_path / "unused").preview(
        [shared_data / "stackexchange_small_sites" / "beer"])
    assert preview.kind == "stackexchange" and preview.columns == ()
    assert preview.roles["user"] == "OwnerUserId/UserId"
    assert len(preview.sample) == 5 and 0 < preview.n_usable <= preview.n_rows


def test_run_summary_is_the_last_run(assistant):
    summary = assistant.run_summary()
    assert summary.inputs == ("demo.csv",)
    assert summary.n_users == sum(s.n_users for s in assistant.segments())


def test_user_map_places_a_sample_of_users_with_their_segment(assistant):
    everyone = assistant.user_map()
    assert len(everyone) == assistant.run_summary().n_users
    assert list(everyone.columns) == ["user", "segment", "confidence", "top_interests", "x", "y"]
    for user in everyone.head(3).itertuples():
        assert assistant.user(user.user).segment_id == user.segment
    sample = assistant.user_map(max_points=20)
    assert len(sample) == 20 and set(sample["user"]) <= set(everyone["user"])
    assert sample.equals(assistant.user_map(max_points=20))


def test_user_events_are_the_users_latest(assistant):
    user = assistant.user_map()["user"].iloc[0]
    events = assistant.user_events(user, limit=4)
    assert len(events) == min(4, assistant.user(user).n_events)
    assert list(events["timestamp"]) == sorted(events["timestamp"], reverse=True)
    mine = assistant.query_events('SELECT text FROM events WHERE "user" = ?', [user])
    assert set(events["text"]) <= set(mine["text"])


def test_interest_sentiment_counts_the_users_mentions(assistant):
    user = assistant.user_map()["user"].iloc[0]
    profile = assistant.user(user)
    table = assistant.interest_sentiment(user)
    assert list(table["interest"]) == list(profile.top_interests)
    texts = assistant.query_events('SELECT lower(text) AS text, sentiment FROM events '
                                   'WHERE "user" = ?', [user], limit=10_000)
    for row in table.itertuples():
        mentions = texts[texts["text"].str.contains(row.interest.lower(), regex=False)]
        assert row.n_events == len(mentions)
        if len(mentions):
            assert row.sentiment == pytest.approx(mentions["sentiment"].mean())
