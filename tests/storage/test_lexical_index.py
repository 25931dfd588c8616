"""The lexical index is derived from Chroma: lost or stale, it is rebuilt from what Chroma holds."""
import pytest

from newsbot.index.engine import Engine
from newsbot.index.answering.retrieval import RetrievalConfig


def test_a_deleted_lexical_index_is_rebuilt_from_chroma(sample_engine, settings):
    expected = sample_engine.store().count_chunks()
    sample_engine.close()
    for path in settings.data_dir.glob("lexical.sqlite*"):
        path.unlink()
    with Engine(settings) as engine:
        answer = engine.ask("kereta cepat Whoosh penumpang", retrieval=RetrievalConfig(mode="lexical"))
        assert answer.passages[0].article_id == "sample-id-kereta-cepat"
        assert engine.lexical.count("default") == expected


def test_lexical_mode_ranks_by_bm25_and_matches_across_word_forms(sample_engine):
    answer = sample_engine.ask("cobalt export suspension", retrieval=RetrievalConfig(mode="lexical"))
    assert answer.passages[0].article_id == "sample-congo-cobalt"
    assert answer.passages[0].lexical_rank == 1


@pytest.mark.model
def test_every_mode_finds_the_seed_passage_in_its_top_five(sample_engine):
    for mode in ("dense", "hybrid", "auto"):
        answer = sample_engine.ask("What did Zelenskyy say about the minerals deal?", retrieval=RetrievalConfig(mode=mode))
        assert "seed-trump-putin-summit" in [p.article_id for p in answer.passages[:5]], mode


def test_removing_an_article_removes_its_lexical_rows(sample_engine):
    before = sample_engine.lexical.count("default")
    removed = sample_engine.remove("sample-congo-cobalt")
    assert sample_engine.lexical.count("default") == before - removed.chunks
    answer = sample_engine.ask("cobalt export suspension", retrieval=RetrievalConfig(mode="lexical"))
    assert "sample-congo-cobalt" not in [p.article_id for p in answer.passages]
