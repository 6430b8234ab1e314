"""Replay windows: cut a history of events into consecutive time windows.

``--window 90d`` (or ``12w``) gives windows of that fixed length from the first event's day;
``--window 1y`` (or ``6m``) gives calendar years (months) in the data's time zone, UTC;
``--snapshots N`` gives N windows of equal length from the first to the last event.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from interestlens.tools.errors import ConfigError

_SPEC = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.I)
_CALENDAR = {"m": "M", "y": "Y"}


@dataclass(frozen=True)
class Window:
    """One replay window: events with ``start <= time < end`` (UTC)."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp


def parse_window(spec: str) -> tuple[int, str]:
    """Parse ``"90d"``, ``"12w"``, ``"6m"`` or ``"1y"`` into ``(count, unit)``.

    Raises:
        ConfigError: The text is not a positive count and a unit d, w, m or y.
    """
    match = _SPEC.match(spec or "")
    if not match or int(match.group(1)) < 1:
        raise ConfigError(f"--window {spec!r}: expected a positive count and a unit d, w, m or y,"
                          " e.g. 90d or 1y")
    return int(match.group(1)), match.group(2).lower()


def time_windows(timestamps: pd.Series, *, window: str | None = None,
                 n_snapshots: int | None = None) -> list[Window]:
    """Return the windows that cover ``timestamps`` (NaT ignored); empty windows are dropped.

    Give exactly one of ``window`` (a ``parse_window`` spec) and ``n_snapshots``.

    Raises:
        ConfigError: Both or neither option is given, ``n_snapshots`` < 1, or no event has a time.
    """
    if (window is None) == (n_snapshots is None):
        raise ConfigError("give exactly one of --window and --snapshots")
    times = pd.to_datetime(pd.Series(timestamps), utc=True).dropna()
    if times.empty:
        raise ConfigError("replay needs event times, and no event has one")
    first, last = times.min(), times.max()
    if n_snapshots is not None:
        if n_snapshots < 1:
            raise ConfigError(f"--snapshots must be at least 1, got {n_snapshots}")
        edges = pd.date_range(first, last, periods=n_snapshots + 1)
        edges = edges[:-1].append(pd.DatetimeIndex([last + pd.Timedelta(microseconds=1)]))
        windows = [Window(f"{a:%Y-%m-%d}..{b:%Y-%m-%d}", a, b)
                   for a, b in itertools.pairwise(edges)]
    else:
        count, unit = parse_window(window)
        windows = (_calendar_windows(first, last, count, _CALENDAR[unit]) if unit in _CALENDAR
                   else _fixed_windows(first, last, pd.Timedelta(days=count * (7 if unit == "w"
                                                                               else 1))))
    return [w for w in windows if in_window(times, w, is_first=False).any()]


def _fixed_windows(first: pd.Timestamp, last: pd.Timestamp,
                   length: pd.Timedelta) -> list[Window]:
    """Return windows of ``length`` from the first event's day (UTC midnight)."""
    start, windows = first.floor("D"), []
    while start <= last:
        end = start + length
        windows.append(Window(f"{start:%Y-%m-%d}..{end - pd.Timedelta(days=1):%Y-%m-%d}",
                              start, end))
        start = end
    return windows


def _calendar_windows(first: pd.Timestamp, last: pd.Timestamp, count: int,
                      freq: str) -> list[Window]:
    """Return calendar windows of ``count`` months or years, aligned to the calendar."""
    naive_first, naive_last = first.tz_convert(None), last.tz_convert(None)
    period = pd.Period(naive_first, freq=freq)
    windows = []
    while period.start_time <= naive_last:
        end = period + count
        label = str(period) if count == 1 else f"{period}..{end - 1}"
        windows.append(Window(label, period.start_time.tz_localize("UTC"),
                              end.start_time.tz_localize("UTC")))
        period = end
    return windows


def in_window(timestamps: pd.Series, window: Window, *, is_first: bool) -> np.ndarray:
    """Return which events fall in ``window``; undated events go to the first window."""
    times = pd.to_datetime(pd.Series(timestamps), utc=True)
    inside = (times >= window.start) & (times < window.end)
    return (inside | (times.isna() & is_first)).to_numpy(dtype=bool)
