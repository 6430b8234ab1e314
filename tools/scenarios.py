"""Planted segment-evolution scenarios built from the demo's interest groups.

Demo groups split, merge, appear, go quiet or change topic between two periods; in the control
nothing changes. Each scenario has two periods of ``period_days``, ``gap_days`` apart, and
``n_users`` users per group (half that in the two groups that merge, so that no group holds
more than a third of the users: the density clusterer caps its clusters at 35 % of the rows
and leaves a larger group to noise):

========  ==========================================  ========================================
kind      before                                      after
========  ==========================================  ========================================
none      photo, running, coffee, hiking              the same
split     photo, running, "mix" (coffee and hiking)   half of "mix" only coffee, half hiking
merge     photo, running, coffee, hiking              coffee and hiking users write about both
birth     photo, running, coffee, hiking              the same, plus new "games" users
death     photo, running, coffee, hiking, "games"     the "games" users fall silent
drift     photo, running, coffee, hiking              the photo users write about board games
========  ==========================================  ========================================

Events of the same user about the same groups in the same period are the same in every scenario,
so scenarios share most texts (and their cached embeddings).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from interestlens.tools.demo import DEMO_COLUMNS, GROUP_KEYS, group_event
from interestlens.tools.errors import ConfigError

SCENARIO_KINDS: tuple[str, ...] = ("none", "split", "merge", "birth", "death", "drift")
EXPECTED: dict[str, str | None] = {"none": None, "split": "split", "merge": "merged",
                                   "birth": "born", "death": "died", "drift": "drifted"}
"""The transition each scenario plants (None: only "survived" may be found)."""

_COFFEE, _HIKING = "zh-coffee", "zh-hiking"
_PHOTO, _RUNNING, _GAMES = "en-photo", "en-running", "en-boardgames"
_BOTH = (_COFFEE, _HIKING)
# A group: (user prefix, share of n_users, groups before, groups after for the first half of its
# users, for the second half); () means no events in that period.
_Plan = tuple[str, float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_PHOTO_USERS: _Plan = ("photo", 1.0, (_PHOTO,), (_PHOTO,), (_PHOTO,))
_RUNNING_USERS: _Plan = ("running", 1.0, (_RUNNING,), (_RUNNING,), (_RUNNING,))
_COFFEE_USERS: _Plan = ("coffee", 1.0, (_COFFEE,), (_COFFEE,), (_COFFEE,))
_HIKING_USERS: _Plan = ("hiking", 1.0, (_HIKING,), (_HIKING,), (_HIKING,))
_STABLE = (_PHOTO_USERS, _RUNNING_USERS, _COFFEE_USERS, _HIKING_USERS)
_PLANS: dict[str, tuple[_Plan, ...]] = {
    "none": _STABLE,
    "split": (_PHOTO_USERS, _RUNNING_USERS, ("mix", 1.0, _BOTH, (_COFFEE,), (_HIKING,))),
    "merge": (_PHOTO_USERS, _RUNNING_USERS, ("coffee", 0.5, (_COFFEE,), _BOTH, _BOTH),
              ("hiking", 0.5, (_HIKING,), _BOTH, _BOTH)),
    "birth": (*_STABLE, ("games", 1.0, (), (_GAMES,), (_GAMES,))),
    "death": (*_STABLE, ("games", 1.0, (_GAMES,), (), ())),
    "drift": (("photo", 1.0, (_PHOTO,), (_GAMES,), (_GAMES,)), _RUNNING_USERS, _COFFEE_USERS,
              _HIKING_USERS),
}


@dataclass(frozen=True)
class Scenario:
    """Two periods of demo events with one planted change.

    Attributes:
        kind: One of ``SCENARIO_KINDS``.
        before: Events of the first period (``DEMO_COLUMNS``), sorted by time.
        after: Events of the second period.
        groups: User id -> (groups written about before, groups after), the truth.
        expected: The transition kind the change should show as (None for the control).
        half_life_days: A profile half-life short enough that the first period has faded by
            the end of the second, and long enough that users silent in the second period
            have gone inactive (older than 3 half-lives) by its end.
    """

    kind: str
    before: pd.DataFrame
    after: pd.DataFrame
    groups: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
    expected: str | None
    half_life_days: float


def generate_scenario(kind: str, *, n_users: int = 24, n_events: int = 10, seed: int = 0,
                      start: str = "2026-01-01", period_days: int = 60,
                      gap_days: int = 90) -> Scenario:
    """Generate a planted scenario of ``kind`` with ``n_users`` users per group.

    Raises:
        ConfigError: Unknown kind, fewer than 10 users per group, or fewer than 2 events.
    """
    if kind not in _PLANS:
        raise ConfigError(f"unknown scenario {kind!r}; kinds: {', '.join(SCENARIO_KINDS)}")
    if n_users < 10 or n_events < 2:
        raise ConfigError(f"a scenario needs n_users >= 10 and n_events >= 2, got {n_users}, "
                          f"{n_events}")
    starts = [pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=p * (period_days + gap_days))
              for p in (0, 1)]
    periods: list[list[dict]] = [[], []]
    groups = {}
    for prefix, share, before, first_half, second_half in _PLANS[kind]:
        size = round(share * n_users)
        for index in range(size):
            user = f"{prefix}-{index:03d}"
            after = first_half if index < size // 2 else second_half
            groups[user] = (before, after)
            for period, topics in enumerate((before, after)):
                periods[period] += _period_events(user, topics, period, seed, starts[period],
                                                  period_days, n_events)
    before_events, after_events = (pd.DataFrame(rows, columns=list(DEMO_COLUMNS))
                                   .sort_values(["timestamp", "user_id"], kind="stable")
                                   .reset_index(drop=True) for rows in periods)
    half_life = (period_days + gap_days) / 6  # the first period weighs < 1/64 at the end
    return Scenario(kind=kind, before=before_events, after=after_events, groups=groups,
                    expected=EXPECTED[kind], half_life_days=half_life)


def _period_events(user: str, topics: tuple[str, ...], period: int, seed: int,
                   start: pd.Timestamp, period_days: int, n_events: int) -> list[dict]:
    """Return one user's events of one period, each about one of ``topics`` in turn."""
    if not topics:
        return []
    codes = [GROUP_KEYS.index(topic) for topic in topics]
    rng = np.random.default_rng([seed, period, zlib.crc32(user.encode()), *codes])
    days = np.sort(rng.uniform(0, period_days, n_events))
    return [group_event(rng, user, topics[i % len(topics)],
                        start + pd.Timedelta(seconds=int(day * 86400)))
            for i, day in enumerate(days)]
