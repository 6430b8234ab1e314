"""Shared fixtures: the seeded demo data, a temporary store, and the optional ../shared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Nothing may download at test time: models come from installed packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def demo():
    """The seeded bilingual demo data with its latent groups."""
    from interestlens.tools.demo import generate_demo

    return generate_demo(seed=0)


@pytest.fixture(scope="session")
def demo_events(demo):
    """The demo events as a user's input table."""
    return demo.events


@pytest.fixture
def tmp_store(tmp_path):
    """A fresh store folder."""
    return tmp_path / "store"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA
