"""A process serving many namespaces (a bot in many Discord servers) keeps the vector indexes of only
NEWSBOT_OPEN_NAMESPACES of them in memory; the others are read back from disk when asked, and answer as
before. Memory at 2,000 namespaces is measured by benchmarks/bench_namespaces.py."""
from dataclasses import replace

import numpy as np

from newsbot.index.engine import Engine
from newsbot.index.records import Chunk
from newsbot.index.sources.draft import Draft
from newsbot.index.storage.store import HNSW_SMALL_SYNC, HNSW_SYNC_THRESHOLD, collection_name


def bridge(i: int) -> Draft:
    return Draft(text=f"Harbour bridge number {i} reopened on Monday after repairs lasting {i + 2} weeks, the "
                      "city council said.", title=f"Bridge {i} reopens", id=f"bridge-{i}")


def test_namespaces_evicted_from_memory_answer_when_asked_again(settings):
    settings = replace(settings, open_namespaces=2)  # four indexes: most namespaces are evicted as others are used
    with Engine.open(settings) as engine:
        for i in range(8):
            engine.add([bridge(i)], namespace=f"guild-{i}")
        for round_ in range(2):
            for i in range(8):
                answer = engine.ask(f"How long did the repairs of harbour bridge number {i} last?",
                                    namespace=f"guild-{i}")
                assert [c.article_id for c in answer.citations][:1] == [f"bridge-{i}"], (round_, i, answer.answer)
    with Engine.open(settings) as engine:  # and after a restart
        assert engine.store("guild-3").count_chunks() == 1
        assert engine.ask("When did harbour bridge number 5 reopen?", namespace="guild-5").citations


def stored_sync(engine: Engine) -> int:
    return engine.client.get_collection(collection_name("default", "chunks")).configuration["hnsw"]["sync_threshold"]


def test_a_small_namespace_reaches_disk_at_every_write_and_a_large_one_as_chroma_chooses(engine):
    """Chroma writes an index to disk after 1,000 new vectors; one written in this process and evicted before that
    cannot be loaded back ("Error creating hnsw segment reader: Nothing found on disk")."""
    engine.add([bridge(1)])
    assert stored_sync(engine) == HNSW_SMALL_SYNC == 1
    st = engine.store()
    rng = np.random.default_rng(0)
    article = engine.sources()[0]
    chunks = [Chunk(f"bulk#{i}", article.id, i, "x", 0, 1) for i in range(HNSW_SYNC_THRESHOLD)]
    dim = len(engine.embedder.embed_query("bridge"))
    vectors = rng.standard_normal((len(chunks), dim)).astype(np.float32)
    st.write_articles([(replace(article, id="bulk"), chunks, vectors)], replacing=set())
    engine.add([bridge(2)])
    assert stored_sync(engine) == HNSW_SYNC_THRESHOLD, "past the threshold, Chroma's own"


def test_a_small_namespace_an_earlier_newsbot_made_reaches_disk_at_its_next_write(settings):
    with Engine.open(settings) as engine:
        engine.add([bridge(1)])
        engine.store().chunks.modify(configuration={"hnsw": {"sync_threshold": HNSW_SYNC_THRESHOLD}})
    with Engine.open(settings) as engine:
        assert engine.ask("When did harbour bridge number 1 reopen?").citations
        assert stored_sync(engine) == HNSW_SYNC_THRESHOLD, "a read changes nothing"
        engine.add([bridge(2)])
        assert stored_sync(engine) == HNSW_SMALL_SYNC
