"""A process serving many namespaces (a bot in many Discord servers) keeps the vector indexes of only
NEWSBOT_OPEN_NAMESPACES of them in memory; the others are read back from disk when asked, and answer as
before. Memory at 2,000 namespaces is measured by benchmarks/bench_namespaces.py."""
from dataclasses import replace

from newsbot.index.engine import Engine
from newsbot.index.sources.draft import Draft
from newsbot.index.storage.store import HNSW_SYNC_THRESHOLD, collection_name


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


def test_every_write_reaches_disk_so_an_evicted_index_can_be_read_back(engine):
    """Chroma's default writes an index to disk after 1,000 new vectors; one evicted before that cannot be
    loaded back ("Error creating hnsw segment reader: Nothing found on disk")."""
    engine.add([bridge(1)])
    hnsw = engine.client.get_collection(collection_name("default", "chunks")).configuration["hnsw"]
    assert hnsw["sync_threshold"] == HNSW_SYNC_THRESHOLD == 1


def test_a_namespace_an_earlier_newsbot_made_gets_the_sync_threshold_when_opened(settings):
    with Engine.open(settings) as engine:
        engine.add([bridge(1)])
        engine.store().chunks.modify(configuration={"hnsw": {"sync_threshold": 1000}})
    with Engine.open(settings) as engine:
        assert engine.ask("When did harbour bridge number 1 reopen?").citations
        hnsw = engine.client.get_collection(collection_name("default", "chunks")).configuration["hnsw"]
        assert hnsw["sync_threshold"] == 1
