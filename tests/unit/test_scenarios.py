"""Planted evolution scenarios: the truth matches the events, and scenarios share their texts."""

import pandas as pd
import pytest

from interestlens.tools.demo import DEMO_COLUMNS, GROUP_KEYS, group_event
from interestlens.tools.errors import ConfigError
from interestlens.tools.scenarios import EXPECTED, SCENARIO_KINDS, generate_scenario


def topics_of(events):
    """User -> set of demo groups their events' items belong to."""
    groups = events["item_id"].str.rsplit("-", n=1).str[0]
    return groups.groupby(events["user_id"]).agg(lambda g: tuple(sorted(set(g)))).to_dict()


@pytest.mark.parametrize("kind", SCENARIO_KINDS)
def test_events_follow_the_planted_truth(kind):
    scenario = generate_scenario(kind, n_users=12, n_events=6)
    assert scenario.expected == EXPECTED[kind]
    for period, events in enumerate((scenario.before, scenario.after)):
        assert list(events.columns) == list(DEMO_COLUMNS)
        assert events["timestamp"].is_monotonic_increasing
        wanted = {u: tuple(sorted(g[period])) for u, g in scenario.groups.items() if g[period]}
        assert topics_of(events) == wanted
    # a user silent after the first period is inactive (3 half-lives old) at the end
    silence = (pd.to_datetime(scenario.after["timestamp"]).max()
               - pd.to_datetime(scenario.before["timestamp"]).max())
    assert silence.days > 3 * scenario.half_life_days


def test_the_planted_changes():
    split = generate_scenario("split", n_users=12, n_events=4).groups
    assert split["mix-000"] == (("zh-coffee", "zh-hiking"), ("zh-coffee",))
    assert split["mix-011"] == (("zh-coffee", "zh-hiking"), ("zh-hiking",))
    merge = generate_scenario("merge", n_users=12, n_events=4).groups
    assert sum(u.startswith("coffee") for u in merge) == 6
    assert generate_scenario("birth", n_users=12, n_events=4).groups["games-000"][0] == ()
    assert generate_scenario("death", n_users=12, n_events=4).groups["games-000"][1] == ()
    assert generate_scenario("drift", n_users=12, n_events=4).groups["photo-000"] == (
        ("en-photo",), ("en-boardgames",))


def test_the_same_users_write_the_same_texts_in_every_scenario():
    control = generate_scenario("none", n_users=12, n_events=4)
    birth = generate_scenario("birth", n_users=12, n_events=4)
    shared = birth.after[~birth.after["user_id"].str.startswith("games")]
    pd.testing.assert_frame_equal(shared.reset_index(drop=True), control.after)
    other_seed = generate_scenario("none", n_users=12, n_events=4, seed=1)
    assert not other_seed.after["text"].equals(control.after["text"])


def test_bad_scenarios_are_config_errors():
    with pytest.raises(ConfigError, match="unknown scenario 'explode'"):
        generate_scenario("explode")
    with pytest.raises(ConfigError, match="n_users >= 10"):
        generate_scenario("none", n_users=4)
    with pytest.raises(ConfigError, match="unknown demo group 'zh-tea'"):
        group_event(None, "u1", "zh-tea", pd.Timestamp("2026-01-01", tz="UTC"))
    assert len(GROUP_KEYS) == 6
