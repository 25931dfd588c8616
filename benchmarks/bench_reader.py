"""What reading costs per question, for reader files side by side, on the windows `ask` reads.

    python benchmarks/bench_reader.py [--questions 40] [FILE ...]

The own set's questions over the sample articles, and the first --questions of rtqa-dev's
leave-gold-out version over its articles (English news: the longest windows). For each
question, the windows `reading.choose_windows` picks from the top passages (retrieval with the
reader off), then each reader file scores them: best of 3 runs per question, after a warm-up.
Prints p50 / p95 ms per question, the tokens read, and tokens per second. With no FILE, the
shipped reader. One thread pool per process as in `ask`; run on a quiet machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, save, table

sys.path.insert(0, str(ROOT))

from newsbot.index.answering import reading  # noqa: E402
from newsbot.index.answering.reader import READER_FILE, OnnxReader  # noqa: E402
from newsbot.index.engine import Engine  # noqa: E402
from newsbot.index.evaluation.metrics import load_questions  # noqa: E402
from newsbot.index.settings import Settings  # noqa: E402

CACHE = ROOT / "benchmarks" / "cache"
RTQA = ROOT / "benchmarks" / "work" / "rtqa-dev-lgo"


def windows_of(articles: Path, questions: Path, limit: int, work: Path) -> list[tuple[str, list[str]]]:
    """(question, the texts of the windows the reader would read) for the first `limit` questions."""
    out = []
    with Engine(Settings(data_dir=work, cache_dir=CACHE, namespace="bench", reader="off")) as engine:
        engine.add(engine.drafts_from_jsonl(str(articles)))
        for q in load_questions(questions)[:limit]:
            passages = list(engine.ask(q.question, k=10).passages)
            texts = engine.store().get_articles(list({p.article_id for p in passages}), with_text=True)
            chosen = reading.choose_windows(q.question, passages, texts)
            out.append((q.question, [texts[p.article_id].text[a:b] for p, a, b in chosen]))
    return out


def measure(reader: OnnxReader, material: list[tuple[str, list[str]]]) -> dict:
    reader.score(*material[0])  # warm-up
    ms, tokens = [], 0
    for question, windows in material:
        if not windows:
            continue
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            reader.score(question, windows)
            best = min(best, (time.perf_counter() - t) * 1000)
        ms.append(best)
        q = len(reader.tokenizer.content_ids_batch([question], "query: ")[0])
        tokens += sum(q + len(p) + 4 for p in reader.tokenizer.content_ids_batch(windows, "passage: "))
    return {"questions": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "tokens": tokens,
            "tokens_per_s": round(tokens / (sum(ms) / 1000))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    files = args.files or [READER_FILE]
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-reader-") as tmp:
        sets = {"own": windows_of(ROOT / "samples" / "articles.jsonl", ROOT / "samples" / "questions.jsonl", 1000,
                                  Path(tmp) / "own")}
        if RTQA.exists():
            sets["rtqa-dev-lgo"] = windows_of(RTQA / "articles.jsonl", RTQA / "questions.jsonl", args.questions,
                                              Path(tmp) / "rtqa")
    rows: list[dict] = []
    results: dict[str, dict] = {}
    for path in files:
        reader = OnnxReader(CACHE, path)
        layers = reader.meta.get("layers", 12)
        for name, material in sets.items():
            got = measure(reader, material)
            results[f"{path.name}:{name}"] = {"layers": layers, **got}
            rows.append({"file": path.name, "layers": layers, "set": name, **got})
    print(table(rows, "reading the windows ask reads, per question (best of 3)"))
    save({"reader": results})


if __name__ == "__main__":
    main()
