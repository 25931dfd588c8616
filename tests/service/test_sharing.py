"""While one command writes (a long `newsbot add`), the others are not turned away: questions, sources and
stats are answered by the writing process over its read socket; another write is refused with the --wait
advice, and with --wait it runs once the first is done."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from conftest import ROOT, SAMPLES, answerable, cli_env, run_cli
from newsbot.index.service.remote import socket_path


def test_questions_are_answered_while_an_add_holds_the_index(sample_engine, settings, tmp_path):
    sample_engine.close()
    question, quoted = answerable()
    writer = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "add", "-", "--title", "Grain corridor"],
                              cwd=ROOT, env=cli_env(settings), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        read_socket = socket_path(settings.data_dir, read_only=True)
        deadline = time.monotonic() + 120
        while not read_socket.is_socket():  # the add holds the index, reading its article from stdin
            assert writer.poll() is None and time.monotonic() < deadline, writer.stderr.read().decode()
            time.sleep(0.1)

        asked = run_cli(["ask", question, "--json"], settings)
        assert asked.returncode == 0, asked.stderr.decode()
        assert quoted in json.loads(asked.stdout)["answer"]
        listed = run_cli(["sources", "--json"], settings)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 31

        refused = run_cli(["add", str(SAMPLES / "articles.jsonl")], settings)
        err = refused.stderr.decode()
        assert refused.returncode == 1 and "--wait" in err and f"pid {writer.pid}" in err, err

        waiting = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "remove", "--wait", "120",
                                    "sample-ukraine-drones"], cwd=ROOT, env=cli_env(settings),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1)
        assert waiting.poll() is None, "a write waits for the lock, not for the read socket"
        out, err = writer.communicate(b"Ukraine and Turkey agreed on Tuesday to extend the Black Sea grain corridor "
                                      b"by six months, the ministers said.", timeout=120)
        assert writer.returncode == 0, err.decode()
        assert waiting.wait(120) == 0, waiting.stderr.read().decode()
    finally:
        for proc in (writer,):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not socket_path(settings.data_dir, read_only=True).exists(), "the read socket goes with the writer"
    listed = run_cli(["sources", "--json"], settings)
    ids = {a["id"] for a in json.loads(listed.stdout)}
    assert len(ids) == 31 and "sample-ukraine-drones" not in ids
