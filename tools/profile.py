"""User interest profiles: the recency- and type-weighted mean of each user's event vectors.

A profile is a direction in the event-vector space, so every weight is non-negative: a negative
weight would push a profile *away* from a text, which says nothing about what the user is
interested in (and can flip a one-event profile to the opposite direction). A dislike still shows
which topics the user engages with, so ``disliked`` keeps a small positive weight; how the user felt
is the sentiment stage's job. Negative weights are rejected with a ``ConfigError``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import sparse

from interestlens.tools.embed import text_hash
from interestlens.tools.errors import ConfigError
from interestlens.tools.records import EVENT_TYPE, TEXT, TIMESTAMP, USER

logger = logging.getLogger(__name__)

DEFAULT_EVENT_TYPE_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "purchase": 3.0,
    "review": 2.0,
    "question": 2.0,
    "answer": 2.0,
    "liked": 2.0,
    "like": 2.0,
    "comment": 1.0,
    "rating": 1.0,
    "rated": 1.0,
    "tag": 1.0,
    "browse": 0.5,
    "view": 0.5,
    "click": 0.5,
    "disliked": 0.5,
})
"""Weight of each event type (lower-cased); a type not listed weighs 1.0."""

_UNKNOWN_TYPE_WEIGHT = 1.0
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Profiles:
    """One interest profile per user, rows in ``user_ids`` order.

    Attributes:
        user_ids: User ids as str, sorted ascending.
        matrix: ``(n_users, d)`` float32; each row the L2-normalised weighted mean of the user's
            event vectors (an all-zero row stays zero).
        n_events: Number of events of each user.
        last_seen: Latest event time of each user (UTC, NaT when none is known), indexed by user id.
    """

    user_ids: np.ndarray
    matrix: np.ndarray
    n_events: np.ndarray
    last_seen: pd.Series


def build_profiles(
    events: pd.DataFrame,
    vectors: np.ndarray,
    *,
    half_life_days: float | None = 90.0,
    event_type_weights: Mapping[str, float] | None = None,
    now: pd.Timestamp | None = None,
) -> Profiles:
    """Build each user's profile as the weighted mean of their event vectors.

    An event weighs ``type_weight * 0.5 ** (age_days / half_life_days)``. Ages are measured from
    ``now`` and clipped at 0 (an event after ``now`` is not boosted); an event without a timestamp
    is not decayed. A user whose weights sum to 0 gets the plain mean of their vectors.

    Args:
        events: Event table (columns of ``records.EVENT_COLUMNS``); only ``USER`` is required,
            ``TIMESTAMP`` and ``EVENT_TYPE`` are used when present.
        vectors: ``(len(events), d)`` array; row i is the vector of event row i.
        half_life_days: Age at which an event counts half; None turns recency decay off.
        event_type_weights: Weight per event type (case-insensitive), replacing
            ``DEFAULT_EVENT_TYPE_WEIGHTS``; a type not listed weighs 1.0.
        now: Reference time for ages; default the latest timestamp in ``events``.

    Returns:
        The profiles, one row per distinct user, sorted by user id.

    Raises:
        ConfigError: A weight is negative or ``half_life_days`` is not positive.
        ValueError: ``vectors`` does not have one row per event.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(events):
        raise ValueError(f"vectors has shape {vectors.shape}, expected ({len(events)}, d)")
    if half_life_days is not None and not half_life_days > 0:
        raise ConfigError(f"half_life_days must be positive or None, got {half_life_days}")
    user_index, uniques = pd.factorize(events[USER].astype(str), sort=True)
    user_ids = np.asarray(uniques, dtype=str)
    timestamps = _utc_timestamps(events)
    weights = _type_weights(events, event_type_weights) * _decay(timestamps, half_life_days, now)
    matrix = _weighted_means(user_index, len(user_ids), weights, vectors)
    n_events = np.bincount(user_index, minlength=len(user_ids))
    last_seen = timestamps.reset_index(drop=True).groupby(user_index).max()
    last_seen.index = pd.Index(user_ids, name=USER)
    logger.info("built %d profiles from %d events", len(user_ids), len(events))
    return Profiles(user_ids=user_ids, matrix=matrix, n_events=n_events,
                    last_seen=last_seen.rename("last_seen"))


def user_text_keys(events: pd.DataFrame, user_ids: Sequence[str]) -> np.ndarray:
    """Return one key per user of ``user_ids``: a digest of the sorted hashes of their texts.

    It names what a user wrote, whatever the row order or the user's id (a row number in
    document mode), so a sample drawn by it stays put when the rest of the data changes.
    """
    frame = pd.DataFrame({"user": events[USER].astype(str).to_numpy(),
                          "hash": [text_hash(str(text)) for text in events[TEXT].fillna("")]})
    joined = frame.sort_values(["user", "hash"]).groupby("user")["hash"].agg("".join)
    return np.array([hashlib.blake2b(joined.get(str(user), "").encode("utf-8"),
                                     digest_size=8).hexdigest() for user in user_ids])


def _utc_timestamps(events: pd.DataFrame) -> pd.Series:
    """Return the event times as a UTC series (all NaT when the column is missing)."""
    if TIMESTAMP not in events:
        return pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(events[TIMESTAMP], utc=True)


def _type_weights(events: pd.DataFrame, overrides: Mapping[str, float] | None) -> np.ndarray:
    """Return the event-type weight of each event."""
    table = {str(k).lower(): float(v) for k, v in (overrides or DEFAULT_EVENT_TYPE_WEIGHTS).items()}
    negative = sorted(k for k, v in table.items() if v < 0)
    if negative:
        raise ConfigError(f"event-type weights must be >= 0 (a profile is a mean); got {negative}")
    if EVENT_TYPE not in events:
        return np.full(len(events), _UNKNOWN_TYPE_WEIGHT)
    types = events[EVENT_TYPE].astype(str).str.lower()
    return types.map(table).fillna(_UNKNOWN_TYPE_WEIGHT).to_numpy(dtype=np.float64)


def _decay(timestamps: pd.Series, half_life_days: float | None,
           now: pd.Timestamp | None) -> np.ndarray:
    """Return the recency factor of each event: 1 when undated or when decay is off."""
    if half_life_days is None or timestamps.isna().all():
        return np.ones(len(timestamps))
    ref = timestamps.max() if now is None else pd.Timestamp(now)
    ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref.tz_convert("UTC")
    age_days = ((ref - timestamps) / _DAY).clip(lower=0.0).fillna(0.0).to_numpy(dtype=np.float64)
    return 0.5 ** (age_days / half_life_days)


def _weighted_means(user_index: np.ndarray, n_users: int, weights: np.ndarray,
                    vectors: np.ndarray) -> np.ndarray:
    """Return each user's L2-normalised weighted mean vector (plain mean if weights sum to 0)."""
    n_rows = len(user_index)
    totals = np.bincount(user_index, weights=weights, minlength=n_users)
    unweighted = totals[user_index] <= 0
    weights = np.where(unweighted, 1.0, weights)
    w = sparse.csr_matrix((weights.astype(np.float32), (user_index, np.arange(n_rows))),
                          shape=(n_users, n_rows))
    sums = np.asarray(w @ vectors)  # float32 throughout: a float64 product is ~10x slower
    norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))[:, None]
    sums /= np.where(norms > 0, norms, np.float32(1.0))
    return sums
