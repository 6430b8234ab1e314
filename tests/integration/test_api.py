"""The Python API: ``Assistant(store=...).run(...)`` and the result it returns."""

from __future__ import annotations

import pytest

from interestlens import Assistant


@pytest.fixture(scope="module")
def result(tmp_path_factory, demo_events):
    store = tmp_path_factory.mktemp("api") / "store"
    return Assistant(store=store).run(demo_events.head(1500))


def test_run_on_a_dataframe_returns_segments_users_and_summary(result):
    assert result.summary.n_segments == len(result.segments) >= 2
    assert result.summary.n_users == len(result.users)
    assert result.summary.n_input_rows == result.summary.n_kept + result.summary.n_quarantined


def test_user_profile_and_recommendations(result):
    user_id = result.users["user"].iloc[0]
    profile = result.user(user_id)
    assert profile.segment_id in {s.segment_id for s in result.segments}
    recs = result.recommend(user_id, k=3)
    assert 1 <= len(recs) <= 3
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    assert all(r.reason and r.reason_mode == "template" for r in recs)
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_unknown_user_is_a_clear_key_error(result):
    with pytest.raises(KeyError, match="unknown user"):
        result.user("no-such-user")


def test_a_new_run_replaces_the_previous_one_in_the_store(tmp_path, demo_events):
    with Assistant(store=tmp_path / "store") as assistant:
        assistant.run(demo_events.head(600))
        second = assistant.run(demo_events.iloc[600:1000])
        stored_users = {u for s in assistant.segments()
                        for u in assistant.query_events(
                            "SELECT DISTINCT user FROM events WHERE segment = ?",
                            [s.segment_id], limit=10_000)["user"]}
        assert stored_users == set(second.users["user"])
        assert sum(s.n_users for s in assistant.segments()) == len(second.users)
