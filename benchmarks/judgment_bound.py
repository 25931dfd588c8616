"""How far the answerability judgment's signals can go: abstain recall bounds that hold nothing out.

    python benchmarks/judgment_bound.py ROWS.json [--seed=1] [--budget=0.05]

ROWS.json: the rows `python benchmarks/fit_reader.py --rows=FILE` collects (every leave-gold-out
question of the dev sets asked with the reader reading before the judgment: the judgment's features
and the reader's). Per set and half, abstain recall at false abstention <= the budget (the issue's
operating point):

- `shipped`: the shipped model at its own threshold, as `ask` judges;
- `shipped_best_t`: the same probabilities, the threshold chosen on that half itself;
- `fit_here`: a logistic model over today's features fitted on that half itself, its threshold chosen
  there too; `fit_here_reader`: the same over today's features and the reader's.

The last three see the questions they are scored on, so they are upper bounds of what a refit of these
signals can reach (docs/reader.md): a figure below the target here means a new signal is
needed, not a new fit. Also the question-level AUC (answerable against removed) of the shipped
probability and of the reader's best window score.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fit_answerability import fit_logistic, half, judged  # noqa: E402

from newsbot.index.answering.answerability import FEATURES, READER_FEATURES, fitted_model  # noqa: E402
from training.metrics import auc  # noqa: E402

NOT_JUDGED = -1e9  # a question a hard rule abstains on scores below every judged one


def recall_at_budget(answerable: list[float], removed: list[float], budget: float) -> float:
    """Abstain recall (share of `removed` scored below the threshold) at the highest threshold that
    abstains on at most `budget` of `answerable` (abstain means score < threshold)."""
    ranked = sorted(answerable)
    allowed = int(budget * len(ranked))
    threshold = ranked[allowed] if allowed < len(ranked) else float("inf")
    return sum(s < threshold for s in removed) / len(removed)


def in_sample_scores(rows: list[dict], features: tuple[str, ...]) -> list[float]:
    """Each judged row's logit under a logistic model fitted on these very rows."""
    x = np.array([[r["features"].get(f, 0.0) for f in features] + [1.0] for r in rows])
    y = np.array([float(r["answerable"]) for r in rows])
    return list(x @ fit_logistic(x, y, np.ones(len(rows))))


def bounds(rows: list[dict], budget: float) -> dict[str, float]:
    model = fitted_model()
    judged_rows = [r for r in rows if judged(r)]
    answerable = [r["answerable"] for r in rows]

    def split(scores: list[float]) -> tuple[list[float], list[float]]:
        return ([s for s, a in zip(scores, answerable) if a], [s for s, a in zip(scores, answerable) if not a])

    def question_auc(scores: list[float]) -> float:  # answerable against removed
        return auc(np.array(scores), np.array(answerable, dtype=int))

    def everyone(scores_of_judged: list[float]) -> list[float]:
        by_id = {r["id"]: s for r, s in zip(judged_rows, scores_of_judged)}
        return [by_id.get(r["id"], NOT_JUDGED) for r in rows]

    prob = [model.probability(r["features"]) if judged(r) else NOT_JUDGED for r in rows]
    shipped = [(prob[i] < model.threshold(r["features"])) if judged(r) else True for i, r in enumerate(rows)]
    removed = [s for s, a in zip(shipped, answerable) if not a]
    out = {"answerable": float(sum(answerable)), "removed": float(len(removed)),
           "shipped": sum(removed) / len(removed),
           "shipped_false": sum(s for s, a in zip(shipped, answerable) if a) / max(1, sum(answerable)),
           "shipped_best_t": recall_at_budget(*split(prob), budget),
           "fit_here": recall_at_budget(*split(everyone(in_sample_scores(judged_rows, FEATURES))), budget)}
    read = [r for r in judged_rows if "reader" in r["features"]]
    if len(read) == len(judged_rows):
        out["fit_here_reader"] = recall_at_budget(
            *split(everyone(in_sample_scores(judged_rows, FEATURES + READER_FEATURES))), budget)
        reader = [r["features"]["reader"] if judged(r) else NOT_JUDGED for r in rows]
        out["auc_reader"] = question_auc(reader)
    out["auc_shipped"] = question_auc(prob)
    return out


def main() -> None:
    args = sys.argv[1:]
    seed = next((a.split("=", 1)[1] for a in args if a.startswith("--seed=")), "1")
    budget = float(next((a.split("=", 1)[1] for a in args if a.startswith("--budget=")), "0.05"))
    files = [a for a in args if not a.startswith("--")]
    if len(files) != 1:
        raise SystemExit(__doc__)
    data = json.loads(Path(files[0]).read_text(encoding="utf-8"))
    keys = ("shipped", "shipped_false", "shipped_best_t", "fit_here", "fit_here_reader", "auc_shipped", "auc_reader")
    print("| set | half | answerable / removed | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 3) + "|")
    report = {}
    for name, rows in data.items():
        for which, label in ((1, "B"), (0, "A")):
            part = [r for r in rows if half(r["id"], seed) == which]
            if sum(r["answerable"] for r in part) < 10 or sum(not r["answerable"] for r in part) < 5:
                continue
            b = report[f"{name}/{label}"] = bounds(part, budget)
            print(f"| {name} | {label} | {int(b['answerable'])} / {int(b['removed'])} | "
                  + " | ".join(f"{b[k]:.3f}" if k in b else "–" for k in keys) + " |")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
