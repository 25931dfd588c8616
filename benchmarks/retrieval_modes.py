"""Compare retrieval modes on the evaluation sets: the numbers the defaults were chosen by.

    .venv/bin/python benchmarks/retrieval_modes.py --data-dir /tmp/nb-eval \
        --sets seed,idmt-dev,facqa-dev,rtqa-dev

Each set is indexed once into its own namespace (the embedding cache makes re-runs
cheap); every question then goes through `Engine.ask`, the path the bot uses.
Prints one line per (set, mode) and writes JSON with --out.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from index.engine import Engine
from index.evaluate import aggregate, load_questions, score_question
from index.retrieval import RetrievalConfig
from index.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CONFIGS = {
    "dense": RetrievalConfig(mode="dense"),
    "lexical": RetrievalConfig(mode="lexical"),
    "hybrid-rrf": RetrievalConfig(mode="hybrid"),
    "auto-0.05": RetrievalConfig(mode="auto", coverage_weight=0.05),
    "auto-0.10": RetrievalConfig(mode="auto", coverage_weight=0.10),
    "auto-0.15": RetrievalConfig(mode="auto", coverage_weight=0.15),
    "auto-0.25": RetrievalConfig(mode="auto", coverage_weight=0.25),
}
SHOWN = ("hit@1", "hit@5", "hit@10", "mrr@10", "answer@5", "answer_cited", "false_abstain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="where the evaluation indexes are built (kept for re-runs)")
    parser.add_argument("--cache-dir", help="embedding cache directory (default: the data dir)")
    parser.add_argument("--sets", default="seed,idmt-dev,facqa-dev,rtqa-dev")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--shared", default=str(SHARED), help="folder holding the evaluation sets")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()

    settings = Settings(data_dir=Path(args.data_dir), cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    results = []
    with Engine(settings) as engine:
        for name in args.sets.split(","):
            ns = name.removesuffix("-dev")
            folder = Path(args.shared) / name
            if not engine.sources(ns):
                t = time.perf_counter()
                engine.add(engine.drafts_from_jsonl(str(folder / "articles.jsonl")), namespace=ns)
                print(f"indexed {name} in {time.perf_counter() - t:.0f} s", flush=True)
            questions = load_questions(folder / "questions.jsonl")
            for cname in args.configs.split(","):
                config = CONFIGS[cname]
                t = time.perf_counter()
                rows = [score_question(q, engine.ask(q.question, namespace=ns, k=10, retrieval=config)) for q in questions]
                metrics = aggregate(rows)
                metrics["ms_per_question"] = (time.perf_counter() - t) * 1000 / len(questions)
                results.append({"set": name, "config": cname, "metrics": metrics})
                shown = " ".join(f"{k}={metrics[k]:.3f}" for k in SHOWN if k in metrics)
                print(f"{name:10} {cname:11} {shown} {metrics['ms_per_question']:.0f} ms/q", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
