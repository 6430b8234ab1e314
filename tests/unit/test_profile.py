import time

import numpy as np
import pandas as pd
import pytest

from interestlens.tools.errors import ConfigError
from interestlens.tools.profile import build_profiles, user_text_keys
from interestlens.tools.records import EVENT_TYPE, TEXT, TIMESTAMP, USER

NOW = pd.Timestamp("2024-07-01", tz="UTC")


def _events(rows):
    return pd.DataFrame(rows, columns=[USER, TIMESTAMP, EVENT_TYPE])


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def test_recent_event_outweighs_old_one_by_the_half_life():
    events = _events([("u", NOW - pd.Timedelta(days=180), "review"), ("u", NOW, "review")])
    vectors = np.eye(2, dtype=np.float32)
    profile = build_profiles(events, vectors, half_life_days=90.0).matrix[0]
    # 180 days = two half-lives: the old event weighs 1/4 of the new one
    assert np.allclose(profile, _unit([0.25, 1.0]), atol=1e-6)


def test_no_half_life_gives_the_plain_mean():
    events = _events([("u", NOW - pd.Timedelta(days=180), "review"), ("u", NOW, "review")])
    profile = build_profiles(events, np.eye(2), half_life_days=None).matrix[0]
    assert np.allclose(profile, _unit([1.0, 1.0]), atol=1e-6)


def test_age_is_measured_from_now_and_future_events_are_not_boosted():
    events = _events([("u", NOW, "review"), ("u", NOW + pd.Timedelta(days=90), "review")])
    at_now = build_profiles(events, np.eye(2), now=NOW).matrix[0]
    assert np.allclose(at_now, _unit([1.0, 1.0]), atol=1e-6)
    later = build_profiles(events, np.eye(2), now=NOW + pd.Timedelta(days=90)).matrix[0]
    assert np.allclose(later, _unit([0.5, 1.0]), atol=1e-6)
    naive_now = build_profiles(events, np.eye(2), now=pd.Timestamp("2024-09-29")).matrix[0]
    assert np.allclose(naive_now, later, atol=1e-6)


def test_undated_events_are_not_decayed():
    events = _events([("u", pd.NaT, "review"), ("u", NOW, "review"),
                      ("v", NOW - pd.Timedelta(days=900), "review")])
    profiles = build_profiles(events, np.eye(3))
    assert np.allclose(profiles.matrix[0], _unit([1.0, 1.0, 0.0]), atol=1e-6)


def test_event_type_weights_default_and_override():
    events = _events([("u", NOW, "purchase"), ("u", NOW, "Browse"), ("w", NOW, "mystery"),
                      ("w", NOW, "comment")])
    vectors = np.eye(4)
    default = build_profiles(events, vectors).matrix
    assert np.allclose(default[0], _unit([3.0, 0.5, 0, 0]), atol=1e-6)  # case-insensitive
    assert np.allclose(default[1], _unit([0, 0, 1.0, 1.0]), atol=1e-6)  # unknown type -> 1.0
    custom = build_profiles(events, vectors, event_type_weights={"purchase": 1, "mystery": 4})
    assert np.allclose(custom.matrix[0], _unit([1.0, 1.0, 0, 0]), atol=1e-6)
    assert np.allclose(custom.matrix[1], _unit([0, 0, 4.0, 1.0]), atol=1e-6)


def test_user_whose_weights_sum_to_zero_gets_the_plain_mean():
    events = _events([("u", NOW, "browse"), ("u", NOW, "view"), ("v", NOW, "browse"),
                      ("v", NOW, "review")])
    weights = {"browse": 0.0, "view": 0.0}
    matrix = build_profiles(events, np.eye(4), event_type_weights=weights).matrix
    assert np.allclose(matrix[0], _unit([1.0, 1.0, 0, 0]), atol=1e-6)
    assert np.allclose(matrix[1], [0, 0, 0, 1.0], atol=1e-6)  # v's browse weighs 0


def test_negative_weights_and_bad_half_life_are_rejected():
    events = _events([("u", NOW, "disliked")])
    with pytest.raises(ConfigError, match="disliked"):
        build_profiles(events, np.eye(1), event_type_weights={"disliked": -1.0})
    with pytest.raises(ConfigError):
        build_profiles(events, np.eye(1), half_life_days=0)
    with pytest.raises(ValueError):
        build_profiles(events, np.eye(2))


def test_users_sorted_rows_normalised_counts_and_last_seen():
    rng = np.random.default_rng(0)
    events = _events([("b", NOW, "review"), ("a", NOW - pd.Timedelta(days=3), "review"),
                      ("b", NOW - pd.Timedelta(days=1), "answer"), ("10", pd.NaT, "review"),
                      ("a", pd.NaT, "comment")])
    vectors = rng.normal(size=(5, 8)) * 7
    profiles = build_profiles(events, vectors)
    assert profiles.user_ids.tolist() == ["10", "a", "b"]
    assert profiles.matrix.dtype == np.float32 and profiles.matrix.shape == (3, 8)
    assert np.allclose(np.linalg.norm(profiles.matrix, axis=1), 1.0, atol=1e-6)
    assert profiles.n_events.tolist() == [1, 2, 2]
    assert pd.isna(profiles.last_seen["10"])
    assert profiles.last_seen["a"] == NOW - pd.Timedelta(days=3)
    assert profiles.last_seen.index.tolist() == ["10", "a", "b"]


def test_columns_other_than_user_are_optional_and_input_is_not_mutated():
    events = pd.DataFrame({USER: [1, 2, 1]})
    before = events.copy()
    profiles = build_profiles(events, np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 1.0]]))
    assert profiles.user_ids.tolist() == ["1", "2"]
    assert np.allclose(profiles.matrix[0], _unit([1.0, 1.0]), atol=1e-6)
    pd.testing.assert_frame_equal(events, before)


def test_sixty_thousand_users_take_under_two_seconds():
    rng = np.random.default_rng(1)
    n = 62_774
    events = _events({USER: np.arange(n).astype(str),
                      TIMESTAMP: NOW - pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
                      EVENT_TYPE: rng.choice(["review", "purchase", "browse"], n)})
    vectors = rng.standard_normal((n, 64)).astype(np.float32)
    start = time.perf_counter()
    profiles = build_profiles(events, vectors)
    assert time.perf_counter() - start < 2.0
    assert profiles.matrix.shape == (n, 64)


def test_user_text_keys_name_what_each_user_wrote_whatever_the_row_order():
    events = pd.DataFrame({USER: ["a", "b", "a", "c"], TEXT: ["tea", "coffee", "hiking", "coffee"]})
    keys = user_text_keys(events, ["a", "b", "c"])
    assert list(user_text_keys(events.iloc[[3, 1, 2, 0]], ["a", "b", "c"])) == list(keys)
    assert keys[1] == keys[2] != keys[0]  # b and c wrote the same text
    assert user_text_keys(events.iloc[1:], ["a"])[0] != keys[0]  # a lost one text
