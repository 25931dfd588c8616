"""How many of a question's exact nearest chunks Chroma's HNSW search returns, by search breadth (ef_search).

    python benchmarks/probe_hnsw.py [DATA_DIR] [--namespace bench] [--ef 100,400,800,1600] [--questions 500]

DATA_DIR is a newsbot data directory (default benchmarks/work/query/embedded, the 100k-chunk index that
bench_query.py builds; `make bench` runs this after it). The questions are bench_query.py's
(`common.question_texts`: the dev sets' English and Indonesian questions, shuffled), embedded as `ask`
embeds them. For each ef, in a fresh process (Chroma applies a collection's ef_search from a process's
first query on): recall@50 against exact search over every stored vector, how often the exact top chunk
is among the 50, and the search's own time (ids and distances only). It sets the collection's ef_search
as it goes and leaves it at newsbot's value.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import CACHE, WORK, percentile, question_texts, save

N = 50


def measure(data_dir: Path, namespace: str, ef: int, count: int) -> dict:
    import chromadb

    from newsbot.index.answering.question import looks_like_question
    from newsbot.index.engine import Engine
    from newsbot.index.settings import Settings
    from newsbot.index.storage.store import collection_name

    col = chromadb.PersistentClient(path=str(data_dir / "chroma")).get_collection(collection_name(namespace, "chunks"))
    col.modify(configuration={"hnsw": {"ef_search": ef}})
    ids: list[str] = []
    parts = []
    total = col.count()
    while len(ids) < total:
        got = col.get(include=["embeddings"], limit=5000, offset=len(ids))
        ids += got["ids"]
        parts.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.concatenate(parts)
    with Engine(Settings.load(None, data_dir=WORK / "probe-hnsw-empty", cache_dir=CACHE)) as engine:
        vectors = [engine.embedder.embed_query(q, as_passage=not looks_like_question(q)) for q in question_texts(count)]
    recall, top, ms = [], [], []
    for v in vectors:
        exact = np.argsort(-(matrix @ v))[:N]
        started = time.perf_counter()
        found = set(col.query(query_embeddings=[v], n_results=N, include=["distances"])["ids"][0])
        ms.append((time.perf_counter() - started) * 1000)
        recall.append(len(found & {ids[i] for i in exact}) / N)
        top.append(ids[exact[0]] in found)
    return {"ef_search": ef, "chunks": len(ids), "questions": len(vectors),
            "recall@50": round(float(np.mean(recall)), 4), "worst_recall@50": round(min(recall), 2),
            "exact_top_found": round(float(np.mean(top)), 4),
            "search_p50_ms": round(percentile(ms, 0.5), 2), "search_p95_ms": round(percentile(ms, 0.95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path, nargs="?", default=WORK / "query" / "embedded")
    parser.add_argument("--namespace", default="bench")
    parser.add_argument("--ef", default="100,400,800,1600")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.data_dir, args.namespace, args.one, args.questions)))
        return
    rows = []
    for ef in [int(x) for x in args.ef.split(",")]:
        out = subprocess.run([sys.executable, __file__, str(args.data_dir), "--namespace", args.namespace,
                              "--questions", str(args.questions), "--one", str(ef)],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    save({"hnsw_search": rows})
    import chromadb

    from newsbot.index.storage.store import HNSW_EF_SEARCH, collection_name

    chromadb.PersistentClient(path=str(args.data_dir / "chroma")).get_collection(
        collection_name(args.namespace, "chunks")).modify(configuration={"hnsw": {"ef_search": HNSW_EF_SEARCH}})


if __name__ == "__main__":
    main()
