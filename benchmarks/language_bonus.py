"""Compare cross-lingual bonus values (RetrievalConfig.crosslingual_bonus) on mixed and single-language sets.

    python benchmarks/language_bonus.py SET[,SET...] [BONUS,BONUS,...] [--pool=N]

SET is one of the runs below (../shared/data must be beside the project); the default bonuses are
0, 0.04 and 0.06. Prints hit@1/hit@5, answer_shown and abstention figures per set and bonus.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbot.index.evaluation.run import run_eval  # noqa: E402
from newsbot.index.evaluation.metrics import load_questions  # noqa: E402
from newsbot.index.evaluation.presets import default_preset  # noqa: E402
from newsbot.index.settings import Settings  # noqa: E402

D = ROOT.parent / "shared" / "data"
RUNS = {
    "idmt+rtqa": (["idmt-dev", "rtqa-dev"], D / "idmt-dev" / "questions.jsonl"),
    "seed+rtqa+facqa": (["seed", "rtqa-dev", "facqa-dev"], ROOT / "samples" / "seed-facts-questions.jsonl"),
    "rtqa-in-mix": (["idmt-dev", "rtqa-dev"], D / "rtqa-dev" / "questions.jsonl"),
    "facqa-in-mix": (["facqa-dev", "rtqa-dev", "seed"], D / "facqa-dev" / "questions.jsonl"),
    "idmt": (["idmt-dev"], D / "idmt-dev" / "questions.jsonl"),
    "facqa": (["facqa-dev"], D / "facqa-dev" / "questions.jsonl"),
    "rtqa": (["rtqa-dev"], D / "rtqa-dev" / "questions.jsonl"),
    "own": ([ROOT / "samples" / "articles.jsonl"], ROOT / "samples" / "questions.jsonl"),
}
KEYS = ("hit@1", "hit@5", "answer_shown", "answer_shown_when_first", "false_abstain", "abstain_recall", "latency_p95_ms")


def main() -> None:
    names = sys.argv[1].split(",") if len(sys.argv) > 1 else list(RUNS)
    bonuses = [float(x) for x in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0.0, 0.04, 0.06]
    settings = Settings(data_dir=ROOT / "benchmarks" / "work" / "language-bonus", cache_dir=ROOT / "benchmarks" / "cache")
    base = default_preset(settings)
    pool = int(next((a.split("=", 1)[1] for a in sys.argv[3:] if a.startswith("--pool=")), base.retrieval.language_pool))
    presets = [replace(base, name=f"bonus-{b}", retrieval=replace(base.retrieval, crosslingual_bonus=b, language_pool=pool))
               for b in bonuses]
    for name in names:
        sets, questions = RUNS[name]
        files = [s if isinstance(s, Path) else D / s / "articles.jsonl" for s in sets]
        report = run_eval(files, load_questions(questions), presets, settings, k=10)
        for c in report["configs"]:
            m = c["metrics"]
            print(name, c["name"], {k: None if m[k] is None else round(m[k], 3) for k in KEYS}, flush=True)


if __name__ == "__main__":
    main()
