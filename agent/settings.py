"""The one configuration object; built once at the edge (CLI, UI, ``Assistant(settings=...)``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from interestlens.tools.zeroshot import parse_labels

CONFIG_FILE_ENV = "INTERESTLENS_CONFIG"
DEFAULT_CONFIG_FILE = Path("interestlens.toml")


class Settings(BaseSettings):
    """InterestLens settings.

    Precedence: explicit argument / CLI flag > environment > config file > default. Environment
    variables use the prefix ``INTERESTLENS_`` (e.g. ``INTERESTLENS_EMBEDDING_MODEL``); the LLM
    endpoint also reads ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``OPENAI_MODEL``. The config
    file is ``interestlens.toml`` in the working folder, or the file named by
    ``INTERESTLENS_CONFIG``; its keys are the field names (``llm_model = "qwen-plus"``).
    """

    model_config = SettingsConfigDict(env_prefix="INTERESTLENS_", extra="ignore",
                                      populate_by_name=True)

    store_dir: Path = Path(".interestlens")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2", description="sentence-transformers model name or local path, or "
        "'openai:<model>' for an OpenAI-compatible embeddings endpoint."
    )
    embedding_base_url: str | None = Field(
        None, description="Embeddings endpoint of an 'openai:' model; None uses llm_base_url."
    )
    embedding_api_key: SecretStr | None = Field(
        None, description="Key of the embeddings endpoint; None uses llm_api_key."
    )
    embedding_batch_size: int = 128
    lexical_weight: float | None = Field(
        None, ge=0.0, le=1.0, description="Weight of lexical (character/word TF-IDF/LSA) "
        "features in the fused representation; None picks it from the share of Chinese text."
    )
    interests: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Zero-shot interest labels scored for every user and segment; a list, "
        "or one string of labels separated by commas or new lines."
    )
    half_life_days: float | None = 90.0
    recluster_drift: float = Field(
        0.2, ge=0.0, le=1.0, description="An update re-clusters when more than this share of "
        "the active users is novel (far from every segment) or in segments that drifted or "
        "spread out."
    )
    min_segment_users: int = 5
    recommendations_per_user: int = 5
    random_state: int = 0
    llm_model: str | None = Field(
        None, validation_alias=AliasChoices("INTERESTLENS_LLM_MODEL", "OPENAI_MODEL")
    )
    llm_base_url: str | None = Field(
        None, validation_alias=AliasChoices("INTERESTLENS_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("INTERESTLENS_LLM_API_KEY", "OPENAI_API_KEY")
    )

    llm_temperature: float = 0.2
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 3
    llm_max_concurrency: int = 4
    llm_max_prompt_tokens: int = 3000
    llm_cache_dir: Path | None = None

    @field_validator("interests", mode="before")
    @classmethod
    def _split_interests(cls, value: object) -> object:
        """Accept "咖啡,茶,数码" (or one label per line) as well as a list."""
        return parse_labels(value) if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read the TOML config file after the environment and before the defaults."""
        config = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config))

    @property
    def llm_configured(self) -> bool:
        """Return True when an LLM endpoint and model are both set."""
        return bool(self.llm_model and (self.llm_base_url or self.llm_api_key))
