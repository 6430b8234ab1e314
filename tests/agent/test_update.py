"""Why ``update`` re-clusters: the reason names the loosened segments in plain English."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from interestlens.agent.update import _drift


@pytest.mark.parametrize(("loose", "expected"), [
    (["S2"], "segment S2 drifted or spread out"), (["S3", "S1"], "segments S1, S3 drifted"),
])
def test_drift_reason_says_segment_for_one_and_segments_for_more(loose, expected):
    users = pd.DataFrame({"is_novel": [False] * 4})
    tracking = SimpleNamespace(
        transitions=[SimpleNamespace(kind="drifted", target_ids=(sid,)) for sid in loose],
        current=SimpleNamespace(size=lambda sid: 2))
    drift, reason = _drift(users, np.ones(4, dtype=bool), tracking,
                           SimpleNamespace(recluster_drift=0.2))
    assert drift > 0.2 and reason.startswith(expected)
