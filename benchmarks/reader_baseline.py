"""The signal a reader must beat, on the reader's own held-out pairs: AUC of e5's cosine between
the question and the window (today's main signal), per training set and kind of negative.

    python benchmarks/reader_baseline.py [benchmarks/work/reader/pairs.jsonl]
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import common  # noqa: F401 - puts the checkout on sys.path
import numpy as np

from newsbot.index.embedding.e5_onnx import shared_model
from training.metrics import auc
from training.train import held_out


def main(path: Path) -> None:
    rows = [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if held_out(r["qid"])]
    model = shared_model(common.CACHE)
    q = model.query([r["question"] for r in rows])
    p = model.passage([r["passage"] for r in rows])
    cosine = (q * p).sum(1)
    labels = np.array([r["label"] for r in rows])
    print(f"{len(rows)} held-out pairs of {path}: e5 cosine AUC {auc(cosine, labels):.3f}")
    by_source = defaultdict(list)
    for i, r in enumerate(rows):
        by_source[r["source"]].append(i)
    for source, idx in sorted(by_source.items()):
        print(f"  {source:<16} {len(idx):>4} pairs  AUC {auc(cosine[idx], labels[idx]):.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else common.WORK / "reader" / "pairs.jsonl")
