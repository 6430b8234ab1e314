"""One demo run shared by the command tests (embedding is the slow part)."""

from __future__ import annotations

import pytest

from .run_cli import N_USERS, interestlens


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`interestlens demo` then `interestlens run` of the same data into the same store."""
    out = tmp_path_factory.mktemp("demo")
    first = interestlens("demo", "--out", out, "--users", N_USERS)
    second = interestlens("run", out / "demo_events.csv", "--out", out / "again",
                          "--store", out / "store")
    return out, first, second
