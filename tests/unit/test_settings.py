from pydantic import SecretStr

from interestlens.agent.settings import Settings


def test_defaults_are_offline(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "INTERESTLENS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert not settings.llm_configured
    assert settings.embedding_model == "all-MiniLM-L6-v2"


def test_config_file_then_env_then_argument(monkeypatch, tmp_path):
    config = tmp_path / "il.toml"
    config.write_text('llm_model = "qwen-plus"\nllm_base_url = "http://localhost:1/v1"\n'
                      "half_life_days = 30\n", encoding="utf-8")
    monkeypatch.setenv("INTERESTLENS_CONFIG", str(config))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("INTERESTLENS_HALF_LIFE_DAYS", "45")
    settings = Settings()
    assert settings.llm_model == "qwen-plus" and settings.llm_configured
    assert settings.half_life_days == 45  # env beats the file
    assert Settings(half_life_days=7).half_life_days == 7  # an argument beats both
    assert "sk-secret" not in repr(settings) and isinstance(settings.llm_api_key, SecretStr)


def test_llm_fields_accept_their_own_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Settings(llm_model="m", llm_base_url="http://x/v1").llm_configured
