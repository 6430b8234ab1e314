"""Orchestration: the ``Assistant`` facade, settings, the pipeline and (later) the LLM agent.

This module's names are the whole surface that ``interestlens`` and ``ui`` may use.
"""

from interestlens.agent.assistant import Assistant
from interestlens.agent.chat import Reply, ToolCall
from interestlens.agent.results import RunResult, RunSummary, UserProfile
from interestlens.agent.settings import Settings
from interestlens.tools.catalogue import parse_catalogue_map
from interestlens.tools.demo import write_demo_csv
from interestlens.tools.errors import (
    ConfigError,
    InputError,
    InterestLensError,
    LLMError,
    StoreError,
)
from interestlens.tools.ingest import parse_column_map
from interestlens.tools.name import count_noun, excerpt, sentiment_word
from interestlens.tools.records import Recommendation, Segment
from interestlens.tools.report import OUTPUT_FILES

__all__ = [
    "OUTPUT_FILES", "Assistant", "ConfigError", "InputError", "InterestLensError", "LLMError",
    "Recommendation",
    "Reply", "RunResult", "RunSummary", "Segment", "Settings", "StoreError", "ToolCall",
    "UserProfile", "count_noun", "excerpt", "parse_catalogue_map", "parse_column_map",
    "sentiment_word",
    "write_demo_csv",
]
