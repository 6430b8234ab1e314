"""Replay windows: fixed lengths, calendar months/years, N equal windows, undated events."""

import pandas as pd
import pytest

from interestlens.tools.errors import ConfigError
from interestlens.tools.replay import in_window, parse_window, time_windows


def stamps(*days):
    return pd.Series(pd.to_datetime(list(days), utc=True, format="ISO8601"))


@pytest.mark.parametrize("spec, expected", [("90d", (90, "d")), (" 12W ", (12, "w")),
                                            ("6m", (6, "m")), ("1y", (1, "y"))])
def test_window_specs_are_parsed(spec, expected):
    assert parse_window(spec) == expected


@pytest.mark.parametrize("spec", ["", "0d", "d", "90", "3q", "-1y", "1.5y"])
def test_bad_window_specs_are_one_line_config_errors(spec):
    with pytest.raises(ConfigError, match=r"--window .*expected a positive count and a unit"):
        parse_window(spec)


def test_calendar_years_cover_the_data_and_skip_empty_years():
    times = stamps("2014-03-05", "2014-12-31T23:59:59", "2015-01-01", "2017-06-01", None)
    windows = time_windows(times, window="1y")
    assert [w.label for w in windows] == ["2014", "2015", "2017"]  # no event in 2016
    assert windows[0].start == pd.Timestamp("2014-01-01", tz="UTC")
    assert windows[0].end == pd.Timestamp("2015-01-01", tz="UTC")


def test_fixed_windows_start_on_the_first_day_and_every_event_falls_in_one():
    times = stamps("2026-01-10T15:00", "2026-02-01", "2026-04-09", "2026-04-10")
    windows = time_windows(times, window="30d")
    assert windows[0].start == pd.Timestamp("2026-01-10", tz="UTC")
    assert all((w.end - w.start) == pd.Timedelta(days=30) for w in windows)
    hits = sum(in_window(times, w, is_first=False) for w in windows)
    assert hits.tolist() == [1, 1, 1, 1]


def test_n_snapshots_split_the_span_evenly_and_include_the_last_event():
    times = stamps("2026-01-01", "2026-01-05", "2026-01-11")
    windows = time_windows(times, n_snapshots=2)
    assert len(windows) == 2
    assert in_window(times, windows[1], is_first=False).tolist() == [False, False, True]


def test_undated_events_join_the_first_window_only():
    times = stamps("2026-01-01", None)
    first, = time_windows(times, window="1m")
    assert in_window(times, first, is_first=True).tolist() == [True, True]
    assert in_window(times, first, is_first=False).tolist() == [True, False]


@pytest.mark.parametrize("options, message", [
    ({}, "exactly one of --window and --snapshots"),
    ({"window": "1y", "n_snapshots": 3}, "exactly one"),
    ({"n_snapshots": 0}, "at least 1"),
])
def test_window_options_must_be_one_and_sensible(options, message):
    with pytest.raises(ConfigError, match=message):
        time_windows(stamps("2026-01-01"), **options)


def test_replay_without_any_event_time_is_refused():
    with pytest.raises(ConfigError, match="needs event times"):
        time_windows(stamps(None, None), window="1y")
