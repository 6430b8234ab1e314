"""Fixtures of the agent tests: the scripted LLM server, a fake facade, clients, one router."""

from __future__ import annotations

from typing import Any

import pytest
from agent_fakes import FakeAssistant, start_fake_llm


@pytest.fixture
def fake_llm():
    """A scripted OpenAI-compatible server on a free local port."""
    fake, server = start_fake_llm()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_assistant(tmp_path):
    return FakeAssistant(store_dir=tmp_path / "store")


@pytest.fixture(scope="session")
def router():
    """One fitted offline router (loads the bundled MiniLM once per test session)."""
    from interestlens.agent.router import OfflineRouter

    return OfflineRouter().fit()


@pytest.fixture
def make_client(fake_llm, tmp_path):
    """Build an ``LLMClient`` for the fake server; keyword arguments override ``LLMConfig``."""
    from interestlens.agent.llm import LLMClient, LLMConfig

    def build(**overrides: Any) -> LLMClient:
        config = {"model": "fake-model", "base_url": fake_llm.url, "timeout_s": 5.0,
                  "max_retries": 2, "max_concurrency": 2, "cache_dir": tmp_path / "llm_cache",
                  **overrides}
        return LLMClient(LLMConfig(**config))

    return build
