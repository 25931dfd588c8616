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
from index.engine import Engine
from index.errors import StoreUnavailableError
from index.loaders import Draft

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
