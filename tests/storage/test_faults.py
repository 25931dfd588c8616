"""Faults and concurrency: a Chroma server that goes away and comes back; simultaneous adds."""
import subprocess
import sys
import threading
import time
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import free_port, run_cli
from newsbot.index.engine import Engine
from newsbot.index.errors import StoreUnavailableError
from newsbot.index.sources.draft import Draft

STORY = Draft(title="Jakarta MRT extends line to Kota", url="https://news.example/mrt-kota",
              text="Jakarta's MRT will extend its north-south line to Kota by 2029, the operator said on Monday. "
                   "Construction of the new stations is half finished.")


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.server
def test_a_stopped_chroma_server_is_a_clear_error_and_recovery_needs_no_restart(settings, tmp_path):
    port = free_port()
    server = start_chroma(tmp_path / "chroma", port)
    try:
        with Engine(replace(settings, chroma_host="127.0.0.1", chroma_port=port)) as engine:
            engine.add([STORY])
            assert not engine.ask("When will the MRT reach Kota?").abstained
            stop(server)
            with pytest.raises(StoreUnavailableError, match="unavailable"):
                engine.ask("When will the MRT reach Kota?")
            with pytest.raises(StoreUnavailableError):
                engine.sources()
            out = run_cli(["ask", "When will the MRT reach Kota?"], settings,
                          CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(port))
            assert out.returncode == 1 and "cannot reach the Chroma server" in out.stderr.decode()
            assert "Traceback" not in out.stderr.decode()
            server = start_chroma(tmp_path / "chroma", port)
            answer = engine.ask("When will the MRT reach Kota?")
            assert not answer.abstained and "2029" in answer.answer
    finally:
        stop(server)


def test_two_simultaneous_adds_of_the_same_url_index_it_once(engine):
    results = []
    barrier = threading.Barrier(2)

    def add():
        barrier.wait()
        results.extend(engine.add([STORY]))

    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(r.status for r in results) == ["added", "duplicate"]
    assert len(engine.sources()) == 1


def test_ask_during_a_large_add_returns_consistent_answers(engine):
    [mrt] = engine.add([STORY])
    bulk = [Draft(text=f"Bulletin {i}: the city council of Bogor met on day {i} to discuss parking fees and "
                       f"street vendors near the botanical garden, officials said.", title=f"Bogor bulletin {i}")
            for i in range(40)]
    done = threading.Event()
    adder = threading.Thread(target=lambda: (engine.add(bulk), done.set()))
    adder.start()
    answers = []
    while not done.is_set():
        answers.append(engine.ask("When will the MRT reach Kota?"))
    adder.join()
    assert answers
    for answer in answers:  # the index grows under the question; every answer is still whole and right
        assert not answer.abstained and answer.citations[0].article_id == mrt.article.id
        assert "2029" in answer.answer
    assert len(engine.sources()) == 41


def lexical_rows(engine: Engine, namespace: str = "default") -> list[str]:
    """Every chunk id the lexical index holds, duplicates included (read from its FTS table)."""
    from newsbot.index.storage.lexical import _table

    return [r[0] for r in engine.lexical._db.execute(f"SELECT chunk_id FROM {_table(namespace)}")]


FERRY = Draft(title="New ferry route to Labuan Bajo", url="https://news.example/ferry",
              text="A new ferry route will link Bali and Labuan Bajo from June, the transport ministry said on Friday. "
                   "The crossing will take eleven hours and run three times a week.")


@pytest.mark.server
def test_a_chroma_server_killed_mid_add_leaves_no_orphans_and_the_rerun_indexes_each_chunk_once(settings, tmp_path, monkeypatch):
    port = free_port()
    server = start_chroma(tmp_path / "chroma", port)
    try:
        with Engine(replace(settings, chroma_host="127.0.0.1", chroma_port=port)) as engine:
            engine.add([STORY])
            chunks = engine.store().chunks
            real_upsert = type(chunks).upsert

            def upsert_then_die(self, *args, **kwargs):  # the server dies after the chunks, before the commit record
                real_upsert(self, *args, **kwargs)
                server.kill()
                server.wait(20)

            monkeypatch.setattr(type(chunks), "upsert", upsert_then_die)
            with pytest.raises(StoreUnavailableError):
                engine.add([FERRY])
            monkeypatch.undo()
            server = start_chroma(tmp_path / "chroma", port)

            assert [a.id for a in engine.sources()] == [STORY_ID := engine.sources()[0].id]
            stored = [meta["article_id"] for _, _, meta in engine.store().iter_chunks()]
            assert set(stored) == {STORY_ID}, "the ferry's orphan chunks were swept"
            assert sorted(lexical_rows(engine)) == sorted(cid for cid, _, _ in engine.store().iter_chunks())

            [again] = engine.add([FERRY])
            assert again.status == "added"
            rows = lexical_rows(engine)
            assert len(rows) == len(set(rows)) == engine.store().count_chunks(), "no chunk twice in the lexical index"
            answer = engine.ask("How long will the ferry crossing to Labuan Bajo take?", mode="lexical")
            assert not answer.abstained and answer.citations[0].article_id == again.article.id
        assert not list(Path(settings.data_dir).glob("pending-*")), "no journal is left behind"
    finally:
        stop(server)


def test_a_garbage_journal_falls_back_to_a_full_orphan_sweep(settings):
    with Engine(settings) as engine:
        engine.add([STORY])
        st = engine.store()
        vec = engine.embedder.embed_passages(["an orphan chunk"])[0]
        st.chunks.upsert(ids=["ghost@000000000000#0"], embeddings=[vec], documents=["an orphan chunk"],
                         metadatas=[{"article_id": "ghost", "content_hash": "0" * 64, "lang": "en"}])
    (Path(settings.data_dir) / "pending-default.json").write_text('{"not": "a journal"}')
    with Engine(settings) as engine:
        stored = {meta["article_id"] for _, _, meta in engine.store().iter_chunks()}
        assert stored == {a.id for a in engine.sources()}, "the orphan was found without a journal"
        assert not engine.ask("When will the MRT reach Kota?").abstained
    assert not (Path(settings.data_dir) / "pending-default.json").exists()
