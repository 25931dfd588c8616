"""`newsbot ask` while another command writes: answered by the writing process over its read socket
(index/service/sharing.py), against the same question asked with nothing else running (the command opens the
index and loads the model itself). Whole commands, started afresh, on the bundled samples and the real model.

    python benchmarks/bench_sharing.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CACHE, SAMPLES, percentile, save

QUESTION = "What did Zelenskyy say about the minerals deal?"
RUNS = 8


def newsbot(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsbot.index.cli", *args], env=env, capture_output=True,
                          timeout=600, **kwargs)


def timed_asks(env: dict) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = newsbot(env, "ask", QUESTION)
        times.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr.decode()
    return times


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NEWSBOT_DATA_DIR": str(Path(tmp) / "data"), "NEWSBOT_CACHE_DIR": str(CACHE)}
        assert newsbot(env, "add", "--jsonl", str(SAMPLES / "articles.jsonl")).returncode == 0
        alone = timed_asks(env)
        writer = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "add", "-"], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (Path(tmp) / "data" / "newsbot-read.sock").is_socket():
                time.sleep(0.1)
            shared = timed_asks(env)
        finally:
            writer.communicate(b"Ukraine and Turkey agreed on Tuesday to extend the Black Sea grain corridor.")
    print(f"`newsbot ask`, {RUNS} runs each (seconds, whole command)")
    print(f"  nothing else running (opens the index, loads the model): median {percentile(alone, 0.5):.2f}, "
          f"max {max(alone):.2f}")
    print(f"  while `newsbot add` holds the index (its read socket):   median {percentile(shared, 0.5):.2f}, "
          f"max {max(shared):.2f}")
    save({"ask_while_adding": {"alone_median_s": round(percentile(alone, 0.5), 2),
                               "through_writer_median_s": round(percentile(shared, 0.5), 2)}})


if __name__ == "__main__":
    main()
