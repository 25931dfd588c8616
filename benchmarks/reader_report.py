"""The issue's figures on the held-out half: `newsbot eval --out DIR` runs, read back per configuration.

    python benchmarks/reader_report.py NAME=DIR [NAME=DIR ...] [--seed=1] [--all | --half-a]

The answerability model with the reader is fitted on half A of each leave-gold-out set
(`benchmarks/fit_reader.py`, split by a hash of the question id); this reports every figure on
half B only (`--all`: every question), from each run's answers.jsonl, one row per set and
configuration: hit@1 (the gold article cited first), hit@5, answer shown, shown when the gold
article is cited first, abstain recall, false abstain, citation validity and p95 latency.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fit_answerability import half  # noqa: E402

from newsbot.index.evaluation.metrics import aggregate  # noqa: E402

KEYS = ("n_questions", "hit@1", "hit@5", "answer_shown", "answer_shown_when_first", "abstain_recall", "false_abstain")


def rows_of(folder: Path, seed: str, everything: bool, which: int = 1) -> dict[str, list[dict]]:
    by_config: dict[str, list[dict]] = {}
    for line in (folder / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "metrics" not in record or (not everything and half(record["id"], seed) != which):
            continue
        by_config.setdefault(record["config"], []).append(record["metrics"])
    return by_config


def main() -> None:
    args = sys.argv[1:]
    seed = next((a.split("=", 1)[1] for a in args if a.startswith("--seed=")), "1")
    everything = "--all" in args
    which = 0 if "--half-a" in args else 1  # half A: what a choice is made on; half B (the default): what is reported
    out = {}
    print("| set | config | " + " | ".join(KEYS) + " |")
    print("|---" * (len(KEYS) + 2) + "|")
    for spec in (a for a in args if not a.startswith("--")):
        name, _, folder = spec.partition("=")
        for config, rows in rows_of(Path(folder), seed, everything, which).items():
            m = aggregate(rows)
            m["n_questions"] = len(rows)
            out[f"{name}/{config}"] = {k: m.get(k) for k in KEYS}
            cells = ["–" if m.get(k) is None else (str(m[k]) if k == "n_questions" else f"{m[k]:.3f}") for k in KEYS]
            print(f"| {name} | {config} | " + " | ".join(cells) + " |")
    print(json.dumps(out), file=sys.stderr)


if __name__ == "__main__":
    main()
