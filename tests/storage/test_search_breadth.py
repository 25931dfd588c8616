"""Dense search explores HNSW_EF_SEARCH graph neighbours, not Chroma's default 100: at 100 it missed the
closest chunks of questions in crowded and mixed-language indexes (benchmarks/probe_hnsw.py)."""
from newsbot.index.engine import Engine
from newsbot.index.sources.draft import Draft
from newsbot.index.storage.store import HNSW_EF_SEARCH, collection_name

NICKEL = Draft(title="Nickel smelters expand in Sulawesi", source="Sample Wire", published_at="2025-03-03",
               text="Indonesia approved three new nickel smelters in Central Sulawesi on Monday, the mining ministry "
                    "said. The plants will process laterite ore into battery-grade nickel for electric vehicles.",
               url="https://news.example/nickel-smelters")

CHROMA_DEFAULT = 100


def stored_ef(engine: Engine) -> int:
    """The chunk collection's ef_search as Chroma keeps it (read afresh, not from a loaded collection)."""
    return engine.client.get_collection(collection_name("default", "chunks")).configuration["hnsw"]["ef_search"]


def test_a_new_namespace_searches_wider_than_chromas_default(engine):
    engine.add([NICKEL])
    assert HNSW_EF_SEARCH > CHROMA_DEFAULT
    assert stored_ef(engine) == HNSW_EF_SEARCH


def test_a_namespace_an_earlier_newsbot_made_is_widened_when_opened_and_keeps_its_articles(settings):
    with Engine.open(settings) as engine:
        [added] = engine.add([NICKEL])
        engine.store().chunks.modify(configuration={"hnsw": {"ef_search": CHROMA_DEFAULT}})
        assert stored_ef(engine) == CHROMA_DEFAULT

    with Engine.open(settings) as engine:
        answer = engine.ask("How many nickel smelters were approved in Sulawesi?")
        assert [c.article_id for c in answer.citations][:1] == [added.article.id]
        assert stored_ef(engine) == HNSW_EF_SEARCH
