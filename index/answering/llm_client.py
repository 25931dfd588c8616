"""Chat LLMs through llama-index's integrations, behind one timeout-and-retry policy.

The integration packages are extras (`pip install -e '.[llm]'`), imported only when
`LLM_PROVIDER` names them. Their own retry loops are switched off (`max_retries=0`):
two nested loops multiply the wait, and Ollama's client has none. Instead `ChatLLM`
retries a 429, a 5xx or a dropped connection itself, honouring Retry-After, and
never retries a timeout, whose budget is already spent.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from newsbot.index.errors import ConfigError, LLMUnavailableError
from newsbot.index.settings import Settings

log = logging.getLogger(__name__)

PROVIDERS = ("none", "openai", "openai-compatible", "ollama")
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 10.0


def build_llm(settings: Settings):
    """The llama-index LLM for `settings.llm_provider` (a ConfigError names what is missing)."""
    provider = settings.llm_provider.strip().lower()
    if provider not in PROVIDERS:
        raise ConfigError(f"LLM_PROVIDER={settings.llm_provider!r} is not one of: {', '.join(PROVIDERS)}")
    if provider == "none":
        raise ConfigError("no LLM is configured: set LLM_PROVIDER (openai, openai-compatible or ollama) in .env")
    if not settings.llm_model:
        raise ConfigError(f"LLM_PROVIDER={provider} needs LLM_MODEL (the model name the server knows)")
    try:
        if provider == "openai":
            from llama_index.llms.openai import OpenAI

            return OpenAI(model=settings.llm_model, api_key=settings.llm_api_key or None,
                          api_base=settings.llm_base_url or None, timeout=settings.llm_timeout_s,
                          max_retries=0, temperature=0.0)
        if provider == "openai-compatible":
            if not settings.llm_base_url:
                raise ConfigError("LLM_PROVIDER=openai-compatible needs LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
            from llama_index.llms.openai_like import OpenAILike

            return OpenAILike(model=settings.llm_model, api_base=settings.llm_base_url,
                              api_key=settings.llm_api_key or "not-needed", is_chat_model=True,
                              context_window=8192, timeout=settings.llm_timeout_s, max_retries=0, temperature=0.0)
        from llama_index.llms.ollama import Ollama

        return Ollama(model=settings.llm_model, base_url=settings.llm_base_url or "http://127.0.0.1:11434",
                      request_timeout=settings.llm_timeout_s, temperature=0.0)
    except ImportError as exc:
        raise ConfigError(f"LLM_PROVIDER={provider} needs the LLM extra: pip install -e '.[llm]' ({exc.name} is "
                          f"missing)") from None


@dataclass(frozen=True)
class Failure:
    """How a failed call is handled: retried or not, after how long, and what to tell the user."""

    retry: bool
    wait_s: float | None
    message: str


def classify(exc: Exception, timeout_s: float) -> Failure:
    """Sort the exceptions of the openai, ollama and httpx clients without importing them."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    if isinstance(exc, TimeoutError) or any("Timeout" in n for n in names):
        return Failure(False, None, f"the LLM did not answer within {timeout_s:g} s")
    if isinstance(status, int):
        detail = _error_detail(exc)
        return Failure(status in RETRY_STATUS, _retry_after(exc), f"the LLM server answered HTTP {status}{detail}")
    if isinstance(exc, ConnectionError) or any("Connect" in n for n in names):
        return Failure(True, None, "the LLM server cannot be reached")
    return Failure(False, None, f"the LLM call failed ({type(exc).__name__}: {str(exc)[:200]})")


def _error_detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)  # openai: the parsed error object
    message = body.get("message") if isinstance(body, dict) else getattr(exc, "error", None)  # ollama: .error
    return f": {str(message)[:200]}" if message else ""


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


class ChatLLM:
    """One system + user exchange with the configured LLM; LLMUnavailableError when it fails."""

    def __init__(self, settings: Settings, llm=None):
        self.settings = settings
        self.llm = llm if llm is not None else build_llm(settings)
        self.name = f"{settings.llm_provider}:{settings.llm_model}"

    def chat(self, system: str, user: str) -> str:
        from llama_index.core.llms import ChatMessage, MessageRole

        messages = [ChatMessage(role=MessageRole.SYSTEM, content=system),
                    ChatMessage(role=MessageRole.USER, content=user)]
        retries = max(0, self.settings.llm_max_retries)
        for attempt in range(retries + 1):
            try:
                response = self.llm.chat(messages)
                return response.message.content or ""
            except Exception as exc:  # every client error becomes a clear LLMUnavailableError
                failure = classify(exc, self.settings.llm_timeout_s)
                if not failure.retry or attempt == retries:
                    tried = f" after {attempt + 1} attempts" if attempt else ""
                    raise LLMUnavailableError(failure.message + tried) from exc
                wait = min(MAX_RETRY_WAIT_S, failure.wait_s if failure.wait_s is not None else 0.5 * 2**attempt)
                log.warning("%s; retrying in %.1f s (%d/%d)", failure.message, wait, attempt + 1, retries)
                time.sleep(wait)
        raise AssertionError("unreachable")
