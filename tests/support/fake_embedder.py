"""A deterministic embedder with no model, for the fast test tier (`make test-fast`), after
simonw/llm's EmbedDemo: the engine, CLI and bot run for real, only the vectors are cheap.

Each word (lower-cased, accents kept) and each of its character trigrams is hashed into one of
DIM signed dimensions, so texts sharing words are close and the same text always gives the same
vector, in any process. A shared component gives the cosines e5's shape (unrelated texts about
0.7, not 0), so the answerability judgment, fitted on e5's scores, sees familiar numbers. Plugged in as NEWSBOT_EMBED_PROVIDER=custom,
NEWSBOT_EMBED_MODEL=support.fake_embedder:HashEmbedding (tests/ on the path).
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

DIM = 256
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _slot(feature: str) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
    return 1 + h % (DIM - 1), 1.0 if (h >> 32) & 1 else -1.0  # dimension 0 is the shared component


SHARED = 0.7  # the share of every vector's squared length that all texts have in common


def _common() -> np.ndarray:
    vec = np.zeros(DIM, dtype=np.float32)
    vec[0] = 1.0
    return vec


def hash_vector(text: str) -> np.ndarray:
    vec = _words_vector(text)
    return np.sqrt(SHARED) * _common() + np.sqrt(1 - SHARED) * vec


def _words_vector(text: str) -> np.ndarray:
    vec = np.zeros(DIM, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        i, sign = _slot(word)
        vec[i] += 2 * sign
        padded = f"#{word}#"
        for j in range(len(padded) - 2):
            i, sign = _slot(padded[j : j + 3])
            vec[i] += 0.5 * sign
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


class HashEmbedding:
    """The part of the EmbeddingModel interface the engine uses, plus a token counter."""

    model_name = f"fake-hash-{DIM}"
    embed_batch_size = 64

    def __init__(self, settings: Any = None) -> None:
        self.calls = 0

    def token_count(self, text: str) -> int:
        return len(_TOKEN.findall(text))

    def get_query_embedding(self, query: str) -> list[float]:
        self.calls += 1
        return hash_vector(query).tolist()

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        self.calls += 1
        return [hash_vector(t).tolist() for t in texts]

    def embed_passages_array(self, texts: list[str], urgent: bool = False) -> np.ndarray:
        self.calls += 1
        return np.vstack([hash_vector(t) for t in texts]) if texts else np.zeros((0, DIM), dtype=np.float32)


def broken(settings: Any = None) -> HashEmbedding:
    """A factory that fails the way a bug would (for the CLI's handling of unexpected errors)."""
    raise RuntimeError("the model file is corrupt")


class OtherHashEmbedding(HashEmbedding):
    """Another model (another id, other vectors): what an index meets after a model change."""

    model_name = f"fake-hash-{DIM}-salted"

    def embed_passages_array(self, texts: list[str], urgent: bool = False) -> np.ndarray:
        return super().embed_passages_array([f"salt {t}" for t in texts], urgent)

    def get_query_embedding(self, query: str) -> list[float]:
        return super().get_query_embedding(f"salt {query}")
