"""Rendered answers: counts read as English ("1 segment", "2 segments")."""

from __future__ import annotations

import pytest

from interestlens.agent.render import render_run
from interestlens.agent.results import RunSummary


@pytest.mark.parametrize(("n_users", "n_segments", "expected"), [
    (1, 1, "1 user in 1 segment "), (1200, 2, "1,200 users in 2 segments "),
])
def test_run_summary_counts_are_singular_for_one(n_users, n_segments, expected):
    summary = RunSummary(
        inputs=("a.csv",), n_input_rows=3, n_kept=3, n_quarantined=0, n_rejected_at_read=0,
        n_exact_duplicates=0, n_near_duplicates=0, n_noise=0, is_document_mode=False,
        n_users=n_users, n_segments=n_segments, n_clusters=1, n_outliers=0, n_embedded=3,
        n_embedding_cache_hits=0, n_items=0, language_share={"en": 1.0}, lexical_weight=0.5,
        embedding_model="m", naming_mode="extractive", stage_seconds={}, total_seconds=1.0,
        store_dir="s")
    assert expected in render_run(summary, [], "en")
    assert f"{n_segments} 个分群" in render_run(summary, [], "zh")
