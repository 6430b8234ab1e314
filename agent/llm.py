"""The one LLM client: any OpenAI-compatible chat endpoint, cached on disk, retried, bounded.

``LLMClient.from_settings`` returns ``None`` when no endpoint is configured: callers then stay in
offline mode and say so. Every reply that passes validation is cached on disk under a key that
hashes everything that changes the answer (model, endpoint, temperature, prompt file hash, output
schema, messages), so a re-run costs nothing. Retries with exponential backoff on 408/409/429/5xx,
connection errors and timeouts are done by the ``openai`` SDK underneath ``ChatOpenAI``
(``max_retries``; it honours ``Retry-After``); what still fails becomes an ``LLMError``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from interestlens.agent.prompts import Message, Prompt
from interestlens.agent.settings import Settings
from interestlens.tools.atomic import atomic_write_text
from interestlens.tools.errors import LLMError
from interestlens.tools.records import Progress

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
R = TypeVar("R")

# Defaults of the LLM settings that ``Settings`` does not carry yet (see ``LLMConfig``).
DEFAULTS = {"llm_temperature": 0.2, "llm_timeout_s": 30.0, "llm_max_retries": 3,
            "llm_max_concurrency": 4, "llm_max_prompt_tokens": 3000}
PLACEHOLDER_API_KEY = "not-needed"  # local servers need none, the openai SDK insists on one
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the LLM.

    Args:
        model: Model name sent to the endpoint.
        base_url: OpenAI-compatible base URL (``…/v1``); None means api.openai.com.
        api_key: Key, never logged; None for local servers that need none.
        temperature: Sampling temperature; low keeps names stable.
        timeout_s: Seconds per HTTP request before it counts as timed out.
        max_retries: Retries with exponential backoff on 429, 5xx, connection errors, timeouts.
        max_concurrency: Calls in flight at once.
        max_prompt_tokens: Token budget of one call's data; samples are truncated to fit.
        cache_dir: Folder of the reply cache; None disables caching.
    """

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = DEFAULTS["llm_temperature"]
    timeout_s: float = DEFAULTS["llm_timeout_s"]
    max_retries: int = DEFAULTS["llm_max_retries"]
    max_concurrency: int = DEFAULTS["llm_max_concurrency"]
    max_prompt_tokens: int = DEFAULTS["llm_max_prompt_tokens"]
    cache_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig | None:
        """Return the config of ``settings``, or None when no LLM endpoint is configured."""
        if not settings.llm_configured:
            return None
        # ``getattr`` keeps working until Settings gains the llm_* tuning fields.
        tuning = {key: getattr(settings, key, default) for key, default in DEFAULTS.items()}
        return cls(
            model=str(settings.llm_model), base_url=settings.llm_base_url,
            api_key=settings.llm_api_key, temperature=float(tuning["llm_temperature"]),
            timeout_s=float(tuning["llm_timeout_s"]), max_retries=int(tuning["llm_max_retries"]),
            max_concurrency=int(tuning["llm_max_concurrency"]),
            max_prompt_tokens=int(tuning["llm_max_prompt_tokens"]),
            cache_dir=getattr(settings, "llm_cache_dir", None) or settings.store_dir / "llm_cache",
        )


class InvalidReply(LLMError):
    """The endpoint answered, but the reply is empty or does not match the expected schema.

    Attributes:
        reply: The raw reply text (may be shown back to the model in a repair message).
        problem: One line saying what is wrong, without echoing the reply.
    """

    def __init__(self, reply: str, problem: str):
        self.reply, self.problem = reply, problem
        super().__init__(f"LLM reply unusable: {problem}")


class DiskCache:
    """Content-addressed reply cache: one small JSON file per key, written atomically.

    Args:
        root: Folder of the cache; created on first write.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def get(self, key: str) -> str | None:
        """Return the cached reply for ``key``, or None."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["reply"])
        except (OSError, ValueError, KeyError):
            logger.warning("ignoring unreadable LLM cache entry %s", path)
            return None

    def put(self, key: str, reply: str, *, model: str) -> None:
        """Store ``reply`` under ``key``."""
        atomic_write_text(self._path(key), json.dumps({"model": model, "reply": reply},
                                                      ensure_ascii=False))

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"


def estimate_tokens(text: str) -> int:
    """Return a rough token count: one per CJK character, one per four other characters."""
    n_cjk = len(_CJK.findall(text))
    return n_cjk + (len(text) - n_cjk + 3) // 4


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """Return ``text`` cut (with a trailing "…") so that ``estimate_tokens`` is <= max_tokens."""
    if estimate_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # longest prefix that fits, leaving one token for the ellipsis
        mid = (low + high + 1) // 2
        low, high = (mid, high) if estimate_tokens(text[:mid]) < max_tokens else (low, mid - 1)
    return text[:low].rstrip() + "…"


def fit_texts(texts: Sequence[str], max_tokens: int, *, min_tokens: int = 8) -> list[str]:
    """Return the first texts, truncated to share ``max_tokens``; each kept one gets >= min_tokens.

    Texts that would get less than ``min_tokens`` are dropped from the end; budget a short text
    leaves unused goes to the texts after it.
    """
    n_kept = min(len(texts), max_tokens // min_tokens)
    kept: list[str] = []
    budget = max_tokens
    for i, text in enumerate(texts[:n_kept]):
        kept.append(truncate_to_tokens(text, budget // (n_kept - i)))
        budget -= estimate_tokens(kept[-1])
    return kept


def parse_json_reply(reply: str, schema: type[M]) -> M:
    """Return ``reply`` validated as ``schema``; a surrounding code fence or prose is tolerated.

    Raises:
        InvalidReply: The reply is empty, holds no JSON object, or fails validation.
    """
    text = _FENCE.sub("", reply.strip())
    start, end = text.find("{"), text.rfind("}")
    if not text:
        raise InvalidReply(reply, "empty reply")
    if start < 0 or end < start:
        raise InvalidReply(reply, "no JSON object in the reply")
    try:
        return schema.model_validate_json(text[start: end + 1])
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}"
            for e in err.errors(include_input=False, include_url=False)
        )
        raise InvalidReply(reply, problems) from None


def describe_api_error(err: Exception) -> str:
    """Return one line naming what went wrong with an HTTP call to the endpoint."""
    import openai

    if isinstance(err, openai.APITimeoutError):
        return "request timed out"
    if isinstance(err, openai.APIStatusError):
        return f"HTTP {err.status_code} {_error_message(err.body) or type(err).__name__}"
    if isinstance(err, openai.APIConnectionError):
        return "cannot connect"
    return f"{type(err).__name__}: {err}"


def _error_message(body: object) -> str:
    """Return the one-line message of an OpenAI-style error body (``{"error": {"message"}}``)."""
    inner = body.get("error", body) if isinstance(body, dict) else body
    message = inner.get("message", "") if isinstance(inner, dict) else inner or ""
    return " ".join(str(message).split())[:200]


class LLMClient:
    """Call an OpenAI-compatible chat endpoint through ``langchain_openai.ChatOpenAI``.

    The chat model is built on first use, never in ``__init__``.

    Args:
        config: Endpoint, model and limits.
    """

    def __init__(self, config: LLMConfig):
        self.config = config
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """Return a client for ``settings``, or None in offline mode (no endpoint configured)."""
        config = LLMConfig.from_settings(settings)
        return cls(config) if config is not None else None

    @property
    def where(self) -> str:
        """Return "model at base_url", for messages and notes (never the key)."""
        return f"{self.config.model} at {self.config.base_url or 'api.openai.com'}"

    def chat_model(self) -> Any:
        """Return the shared ``ChatOpenAI`` instance (built on first call)."""
        with self._lock:
            if self._model is None:
                from langchain_openai import ChatOpenAI

                key = self.config.api_key
                self._model = ChatOpenAI(
                    model=self.config.model, base_url=self.config.base_url,
                    api_key=key.get_secret_value() if key else PLACEHOLDER_API_KEY,
                    temperature=self.config.temperature, timeout=self.config.timeout_s,
                    max_retries=self.config.max_retries, use_responses_api=False,
                )
            return self._model

    def complete(self, messages: Sequence[Message], *, prompt: Prompt, schema: type[M]) -> M:
        """Return the reply to ``messages`` validated as ``schema``; valid replies are cached.

        Raises:
            InvalidReply: The reply does not validate (the caller may repair once).
            LLMError: The endpoint failed after the configured retries.
        """
        key = self.cache_key(messages, prompt=prompt, schema=schema)
        cache = DiskCache(self.config.cache_dir) if self.config.cache_dir else None
        cached = cache.get(key) if cache else None
        if cached is not None:
            logger.debug("LLM cache hit %s (%s)", key[:12], prompt.label)
            return schema.model_validate_json(cached)
        parsed = parse_json_reply(self.chat(messages), schema)
        if cache:
            cache.put(key, parsed.model_dump_json(), model=self.config.model)
        return parsed

    def chat(self, messages: Sequence[Message]) -> str:
        """Return the text of the model's reply to ``messages`` (no cache, no validation).

        Raises:
            LLMError: The endpoint failed after the configured retries.
        """
        import openai
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        try:
            reply = self.chat_model().invoke([kinds[role](content) for role, content in messages])
        except openai.APIError as err:
            raise LLMError(f"LLM {self.where}: {describe_api_error(err)} "
                           f"(after {self.config.max_retries} retries)") from err
        return reply.text

    def cache_key(self, messages: Sequence[Message], *, prompt: Prompt,
                  schema: type[BaseModel]) -> str:
        """Return the hash of everything that changes the answer to ``messages``."""
        material = {
            "model": self.config.model, "base_url": self.config.base_url,
            "temperature": self.config.temperature, "prompt": prompt.sha256,
            "schema": schema.model_json_schema(), "messages": [list(m) for m in messages],
        }
        blob = json.dumps(material, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, label: str,
            progress: Progress | None = None) -> list[R]:
        """Return ``[fn(item) for item in items]``, computed ``max_concurrency`` at a time.

        ``progress(label, done, total)`` is called from the calling thread as calls finish.
        Exceptions raised by ``fn`` propagate (``fn`` handles ``LLMError`` itself).
        """
        self.chat_model()  # build it once, before the workers share it
        results: list[Any] = [None] * len(items)
        if progress:
            progress(label, 0, len(items))
        with ThreadPoolExecutor(max_workers=max(1, self.config.max_concurrency)) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress:
                    progress(label, done, len(items))
        return results
