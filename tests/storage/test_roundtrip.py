"""add / ask / sources / remove on a real Chroma: embedded, and a real `chroma run` server."""
import json
from dataclasses import replace

import pytest

from conftest import run_cli
from newsbot.index.engine import Engine
from newsbot.index.sources.draft import Draft
from newsbot.index.storage.store import HNSW_EF_SEARCH, collection_name

NICKEL = Draft(
    title="Nickel smelters expand in Sulawesi",
    text="Indonesia approved three new nickel smelters in Central Sulawesi on Monday, the mining ministry said. "
    "The plants will process laterite ore into battery-grade nickel for electric vehicles. "
    "Environmental groups warned that the smelters rely on coal-fired power plants.",
    source="Sample Wire",
    published_at="2025-03-03",
    url="https://news.example/nickel-smelters",
)


def roundtrip(engine: Engine, namespace: str = "default") -> None:
    [added] = engine.add([NICKEL], namespace=namespace)
    assert added.status == "added" and added.chunks >= 1

    listed = engine.sources(namespace)
    assert [(a.id, a.title, a.source, a.published_at, a.chunks) for a in listed] == [
        (added.article.id, NICKEL.title, "Sample Wire", "2025-03-03", added.chunks)
    ]

    answer = engine.ask("How many nickel smelters were approved in Sulawesi?", namespace=namespace)
    assert not answer.abstained
    assert answer.citations[0].article_id == added.article.id
    assert "three new nickel smelters" in answer.citations[0].quote

    removed = engine.remove(added.article.id, namespace=namespace)
    assert removed.id == added.article.id
    assert engine.sources(namespace) == []
    assert engine.stats(namespace).chunks == 0
    assert engine.ask("How many nickel smelters were approved in Sulawesi?", namespace=namespace).abstained


def test_roundtrip_embedded(engine):
    roundtrip(engine)


@pytest.mark.server
def test_roundtrip_against_a_chroma_server(settings, chroma_server):
    host, port, _ = chroma_server
    with Engine.open(replace(settings, chroma_host=host, chroma_port=port)) as engine:
        assert engine.stats().store.startswith("chroma server")
        roundtrip(engine)
        chunks = engine.client.get_collection(collection_name("default", "chunks"))
        assert chunks.configuration["hnsw"]["ef_search"] == HNSW_EF_SEARCH  # the server searches as wide


@pytest.mark.server
def test_two_processes_share_one_server_index(settings, chroma_server):
    """Server mode takes no local lock: a CLI process sees what this process added."""
    host, port, _ = chroma_server
    with Engine.open(replace(settings, chroma_host=host, chroma_port=port)) as engine:
        [added] = engine.add([NICKEL])
        out = run_cli(["sources", "--json"], settings, CHROMA_HOST=host, CHROMA_PORT=str(port))
        assert out.returncode == 0, out.stderr.decode()
        assert [a["id"] for a in json.loads(out.stdout)] == [added.article.id]
        out = run_cli(["ask", "nickel smelters Sulawesi", "--json"], settings, CHROMA_HOST=host, CHROMA_PORT=str(port))
        assert json.loads(out.stdout)["citations"][0]["article_id"] == added.article.id


def test_namespaces_do_not_see_each_other(engine):
    [added] = engine.add([NICKEL], namespace="guild-a")
    assert engine.sources("guild-b") == []
    assert engine.ask("nickel smelters in Sulawesi", namespace="guild-b").abstained
    from newsbot.index.errors import NotFoundError

    with pytest.raises(NotFoundError):
        engine.remove(added.article.id, namespace="guild-b")
    assert [a.id for a in engine.sources("guild-a")] == [added.article.id]


def test_filters_by_outlet_and_date(engine):
    other = replace(NICKEL, url="https://other.example/nickel", source="Other Paper", published_at="2024-01-10",
                    text=NICKEL.text.replace("three", "four"))
    engine.add([NICKEL, other])
    from newsbot.index.storage.store import Filters

    by_outlet = engine.ask("nickel smelters Sulawesi", filters=Filters(source="other paper"))
    assert {p.source for p in by_outlet.passages} == {"Other Paper"}
    by_date = engine.ask("nickel smelters Sulawesi", filters=Filters(date_from="2025-01-01"))
    assert {p.published_at for p in by_date.passages} == {"2025-03-03"}
    until = engine.ask("nickel smelters Sulawesi", filters=Filters(date_to="2024-12-31"))
    assert {p.published_at for p in until.passages} == {"2024-01-10"}


def test_cli_add_sources_remove_stats(settings, tmp_path):
    story = tmp_path / "story.md"
    story.write_text("# Floods in Bekasi\n\nHeavy rain flooded thousands of homes in Bekasi on Tuesday, "
                     "officials said. Rescue teams used rubber boats.\n", encoding="utf-8")
    out = run_cli(["add", str(story), "--source", "Sample Kabar", "--published", "2025-03-04"], settings)
    assert out.returncode == 0, out.stderr.decode()
    assert "added" in out.stdout.decode() and "(1 chunks)" in out.stdout.decode()
    listed = json.loads(run_cli(["sources", "--json"], settings).stdout)
    assert len(listed) == 1 and listed[0]["title"] == "Floods in Bekasi"
    assert set(listed[0]) >= {"id", "title", "source", "published_at", "url", "chunks"}
    stats = json.loads(run_cli(["stats", "--json"], settings).stdout)
    assert stats["articles"] == 1 and stats["chunks"] == 1
    out = run_cli(["remove", listed[0]["id"]], settings)
    assert out.returncode == 0 and "removed" in out.stdout.decode()
    assert json.loads(run_cli(["sources", "--json"], settings).stdout) == []


@pytest.mark.server
def test_a_process_answers_what_another_just_added_to_the_server_and_its_lexical_index_catches_up(
        settings, chroma_server, tmp_path):
    """Two processes, each with its own data directory (two machines), on one `chroma run`: the answering one
    brings its BM25 index up to date with what the other wrote (added, replaced, removed) without rebuilding."""
    from newsbot.index.ingest import pipeline

    host, port, _ = chroma_server
    server = {"CHROMA_HOST": host, "CHROMA_PORT": str(port)}
    other = replace(settings, data_dir=tmp_path / "other-machine")
    story = tmp_path / "story.txt"
    with Engine.open(replace(settings, chroma_host=host, chroma_port=port)) as engine:
        engine.add([NICKEL])
        assert engine.ask("nickel smelters Sulawesi").citations
        rebuilt = []
        real_rebuild = engine.lexical.rebuild
        engine.lexical.rebuild = lambda *a, **k: rebuilt.append(a[0]) or real_rebuild(*a, **k)

        story.write_text("Lumen Metals opened a lithium refinery in Morowali on Friday, the company said. It will "
                         "process 60,000 tonnes of spodumene a year.", encoding="utf-8")
        done = run_cli(["add", str(story), "--url", "https://news.example/lithium", "--title", "Lithium refinery"],
                       other, **server)
        assert done.returncode == 0, done.stderr.decode()
        answer = engine.ask("lithium refinery Morowali spodumene", mode="lexical")
        assert answer.citations and answer.citations[0].title == "Lithium refinery", "BM25 alone finds it"
        assert engine.lexical.count("default") == engine.store().count_chunks()

        story.write_text("Lumen Metals postponed its lithium refinery in Morowali to 2027, the company said on "
                         "Monday, citing weak battery demand.", encoding="utf-8")
        done = run_cli(["add", str(story), "--url", "https://news.example/lithium", "--title", "Lithium refinery"],
                       other, **server)
        assert done.returncode == 0 and "replaced" in done.stderr.decode(), done.stderr.decode()
        assert "postponed" in engine.ask("lithium refinery Morowali postponed", mode="lexical").citations[0].quote
        assert not engine.ask("spodumene tonnes", mode="lexical").citations, "the replaced version's terms are gone"
        assert engine.lexical.count("default") == engine.store().count_chunks()

        removed_id = engine.sources()[0].id if engine.sources()[0].title == "Lithium refinery" else \
            engine.sources()[1].id
        assert run_cli(["remove", removed_id], other, **server).returncode == 0
        assert not engine.ask("lithium refinery Morowali", mode="lexical").citations
        assert engine.lexical.count("default") == engine.store().count_chunks() == 1
        assert rebuilt == [], "caught up, never rebuilt"
        assert pipeline.catch_up(engine.lexical, engine.store()) == (0, 0), "nothing left to catch up with"
