"""How far can a reranker over the signals we have go? An over-fitted upper bound.

    python benchmarks/rerank_ceiling.py idmt-dev [facqa-dev rtqa-dev]

For every question of a shared set it collects the top-50 candidates of the real
retrieval (both embeddings of the question) with six signals each: similarity to the
question embedded as a query and as a passage, IDF-weighted term coverage, BM25 rank,
hubness (mean similarity to the chunk's 10 nearest chunks) and similarity to the set's
mean question vector. Then it grid-searches a linear combination *on the same
questions* (in-sample, so optimistic) and prints the best article-level hit@1/hit@5
beside the default's. If even that misses a target, no reweighting of these signals
reaches it: it needs a better model or a reader of the passages.
"""
from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import CACHE, SHARED, table

from newsbot.index.engine import Engine
from newsbot.index.answering.retrieval import RetrievalConfig, retrieve
from newsbot.index.settings import Settings
from newsbot.index.answering.question import looks_like_question

SIGNALS = ("query_sim", "passage_sim", "coverage", "bm25_rank", "hubness", "mean_question_sim")
GRID = {
    "query_sim": (0.0, 0.5, 1.0), "passage_sim": (0.5, 1.0), "coverage": (0.0, 0.1, 0.2),
    "bm25_rank": (0.0, 0.05, 0.1), "hubness": (0.0, -0.2, -0.4), "mean_question_sim": (0.0, -0.25, -0.5),
}


def collect(name: str, work: Path) -> list[tuple[set[str], list[str], np.ndarray, bool]]:
    """(gold articles, candidate article ids, candidate signals, is a statement) per answerable question."""
    folder = SHARED / name
    questions = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with Engine(Settings(data_dir=work, cache_dir=CACHE, namespace="ceiling", max_articles=0)) as engine:
        engine.add(engine.drafts_from_jsonl(str(folder / "articles.jsonl")))
        st = engine.store()
        got = st.chunks.get(include=["embeddings"])
        ids, vectors = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
        neighbours = vectors @ vectors.T
        np.fill_diagonal(neighbours, -1.0)
        hubness = dict(zip(ids, np.sort(neighbours, axis=1)[:, -10:].mean(axis=1)))
        texts = [" ".join(q["question"].split()) for q in questions]
        as_query = np.stack([engine.embedder.embed_query(t) for t in texts])
        as_passage = np.stack([engine.embedder.embed_query(t, as_passage=True) for t in texts])
        mean_q, mean_p = as_query.mean(axis=0), as_passage.mean(axis=0)
        config = RetrievalConfig(candidates=50)
        out = []
        for q, text, qv, pv in zip(questions, texts, as_query, as_passage):
            if not q["article_ids"]:
                continue
            statement = not looks_like_question(text)
            found = {}
            for vector in (qv, pv):
                for p in retrieve(st, engine.lexical, vector, text, 50, config):
                    found.setdefault(p.chunk_id, p)
            rows = st.get_chunks(list(found))
            signals, articles = [], []
            for cid, p in found.items():
                e = np.asarray(rows[cid]["embedding"], dtype=np.float32)
                coverage = (p.score - p.dense) / config.coverage_weight  # auto's score is similarity + 0.15 x coverage
                signals.append([float(e @ qv), float(e @ pv), coverage,
                                60.0 / (60 + p.lexical_rank) if p.lexical_rank else 0.0, float(hubness[cid]),
                                float(e @ (mean_p if statement else mean_q))])
                articles.append(p.article_id)
            out.append((set(q["article_ids"]), articles, np.asarray(signals), statement))
    return out


DEFAULT = {False: np.array([1.0, 0, 0.15, 0, 0, 0]), True: np.array([0, 1.0, 0.15, 0, 0, 0])}  # what `auto` does


def hits(data, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Article-level hit@1 and hit@5 with these weights (None: the default's, by question form)."""
    h1 = h5 = 0
    for gold, articles, signals, statement in data:
        best: dict[str, float] = {}
        for article, score in zip(articles, signals @ (DEFAULT[statement] if weights is None else weights)):
            best[article] = max(best.get(article, -9.0), float(score))
        ranked = sorted(best, key=best.get, reverse=True)
        h1 += ranked[0] in gold
        h5 += bool(gold & set(ranked[:5]))
    return h1 / len(data), h5 / len(data)


def main() -> None:
    rows = []
    for name in sys.argv[1:] or ["idmt-dev", "facqa-dev", "rtqa-dev"]:
        with tempfile.TemporaryDirectory(prefix="newsbot-ceiling-") as tmp:
            data = collect(name, Path(tmp))
        default = hits(data)
        best = (0.0, 0.0, None)
        for combo in itertools.product(*(GRID[s] for s in SIGNALS)):
            h1, h5 = hits(data, np.array(combo))
            if h1 > best[0]:
                best = (h1, h5, combo)
        rows.append({"set": name, "questions": len(data), "default_hit@1": round(default[0], 3),
                     "default_hit@5": round(default[1], 3), "best_hit@1": round(best[0], 3), "its_hit@5": round(best[1], 3),
                     "weights": " ".join(f"{s}={w:g}" for s, w in zip(SIGNALS, best[2]) if w)})
        print(table(rows[-1:]), flush=True)
    print("\n" + table(rows, "In-sample best linear combination of the signals (an upper bound)"))


if __name__ == "__main__":
    main()
