"""An add killed with SIGKILL half-way loses nothing: listed articles are whole, no orphans, re-run completes."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SAMPLES, cli_env
from newsbot.index.engine import Engine

pytestmark = pytest.mark.drill  # kills whole newsbot processes


def chunk_counts(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """(chunks each listed article says it has, chunks actually stored per article id)."""
    listed = {a.id: a.chunks for a in engine.sources()}
    stored: dict[str, int] = {}
    for _, _, meta in engine.store().iter_chunks():
        stored[meta["article_id"]] = stored.get(meta["article_id"], 0) + 1
    return listed, stored


def bulk_file(path) -> tuple[str, int]:
    """The sample articles plus 60 longer generated ones: an add that takes long enough to be killed (about
    10 s of embedding on 2 cores; it is killed 0.5 s after its first group is written)."""
    lines = (SAMPLES / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    for i in range(60):
        text = " ".join(f"Report {i}.{j}: the harbour office of district {i} counted {i * 31 + j} ships on day {j}, "
                        f"and officials expect {j * 7 + i} more before the monsoon, a spokesperson said." for j in range(12))
        lines.append(json.dumps({"id": f"bulk-{i}", "title": f"Harbour report {i}", "text": text}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), len(lines)


def test_sigkill_during_a_bulk_add_leaves_whole_articles_and_a_rerun_completes(settings, tmp_path):
    env = cli_env(settings, NEWSBOT_CACHE_DIR=str(tmp_path / "fresh-cache"))  # nothing cached: embedding is slow
    articles, total = bulk_file(tmp_path / "bulk.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "add", "--jsonl", articles],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = proc.stdout.readline()  # the first group of articles is written
    assert first.startswith(b"added"), first
    time.sleep(0.5)
    assert proc.poll() is None, "the add finished before it could be killed; the test needs a slower add"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)

    with Engine(settings) as engine:
        listed, stored = chunk_counts(engine)
        assert 0 < len(listed) < total
        assert stored == listed, "every listed article has all its chunks, and no chunk lacks its article"
        assert engine.lexical.count("default") == sum(stored.values())

    rerun = subprocess.run([sys.executable, "-m", "newsbot.index.cli", "add", "--jsonl", articles],
                           cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert f"{len(listed)} already indexed" in rerun.stderr.decode()
    with Engine(settings) as engine:
        listed, stored = chunk_counts(engine)
        assert len(listed) == total and stored == listed
