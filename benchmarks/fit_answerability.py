"""Fit the answerability model (index/answering/answerability.py) on dev material, report it on held-out questions.

    python benchmarks/fit_answerability.py [--seed=S] [--rows=FILE | --from-rows=FILE] [--write]

Material: the leave-gold-out version of every dev set in ../shared/data (built here with
../shared/tools/leavegoldout.py: half of the questions lose their gold articles and must be
answered "not covered", near-topic articles stay) and the own set (samples/). Every question
is asked through `Engine.ask`, exactly as the bot asks it, and the judgment's features are kept.

Questions are split in two halves by a hash of their id: the model is fitted on one half
(each set weighing the same, whatever its size) and its operating point chosen there: the
highest threshold at which no set's false abstention exceeds FALSE_ABSTAIN_BUDGET. The other
half reports abstain recall and false abstention per set. `--write` stores the parameters and
both reports in index/answering/answerability.json.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsbot.index.answering.answerability import FEATURES, Model  # noqa: E402
from newsbot.index.engine import Engine  # noqa: E402
from newsbot.index.evaluation.metrics import load_questions  # noqa: E402
from newsbot.index.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared"
CACHE = ROOT / "benchmarks" / "cache"  # shared with the benchmarks: the dev sets are embedded once
SETS = ("idmt-dev", "facqa-dev", "rtqa-dev")
FALSE_ABSTAIN_BUDGET = float(next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--budget=")), 0.02))
L2 = 1.0


def collect(articles: Path, questions: Path, work: Path) -> list[dict]:
    """One row per question: its id, whether it is answerable, the judgment's features."""
    settings = Settings(data_dir=work, cache_dir=CACHE, namespace="fit")
    rows = []
    with Engine(settings) as engine:
        engine.add(engine.drafts_from_jsonl(str(articles)))
        for q in load_questions(questions):
            answer = engine.ask(q.question, k=10)
            j = answer.judgment
            if j is None or not j.features:  # a hard rule decided (no passages, year, unknown name)
                rows.append({"id": q.id, "answerable": bool(q.article_ids), "rule": j.reason if j else "none"})
                continue
            rows.append({"id": q.id, "answerable": bool(q.article_ids), "rule": j.reason if j.reason != "not_covered" else "",
                         "features": j.features,
                         "first_is_gold": bool(answer.passages and answer.passages[0].article_id in q.article_ids)})
    return rows


def material(tmp: Path) -> dict[str, list[dict]]:
    out = {}
    for name in SETS:
        lgo = tmp / f"{name}-lgo"
        subprocess.run([sys.executable, str(SHARED / "tools" / "leavegoldout.py"), str(SHARED / "data" / name), str(lgo)],
                       check=True, capture_output=True)
        out[name] = collect(lgo / "articles.jsonl", lgo / "questions.jsonl", tmp / f"index-{name}")
        print(f"{name}: {len(out[name])} questions", file=sys.stderr)
    out["own"] = collect(ROOT / "samples" / "articles.jsonl", ROOT / "samples" / "questions.jsonl", tmp / "index-own")
    return out


def half(qid: str, seed: str) -> int:
    return int(hashlib.sha1((seed + ":" + qid).encode()).hexdigest(), 16) % 2


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted L2-regularised logistic regression by Newton's method; the last column is the bias.
    Features are standardised first (so the penalty treats a similarity ranging over 0.1 and a share
    ranging over 1 alike), and the weights returned are for the raw features."""
    mean, std = x[:, :-1].mean(axis=0), x[:, :-1].std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([(x[:, :-1] - mean) / std, x[:, -1:]])
    beta = _newton(z, y, w)
    raw = beta[:-1] / std
    return np.append(raw, beta[-1] - float(raw @ mean))


def _newton(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    beta = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], L2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (p - y)) + reg * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def matrix(rows: list[dict]) -> np.ndarray:
    return np.array([[r["features"][f] for f in FEATURES] + [1.0] for r in rows])


def judged(r: dict) -> bool:
    """Rows the model decides (not a hard rule: no passages, another year, an unknown name)."""
    return "features" in r and not r["rule"]


def abstains(r: dict, model: Model) -> bool:
    return not judged(r) or model.probability(r["features"]) < model.threshold(r["features"])


def report(rows_by_set: dict[str, list[dict]], model: Model) -> dict:
    out = {}
    for name, rows in rows_by_set.items():
        un = [r for r in rows if not r["answerable"]]
        an = [r for r in rows if r["answerable"]]
        out[name] = {
            "questions": len(rows),
            "abstain_recall": round(sum(abstains(r, model) for r in un) / len(un), 3) if un else None,
            "false_abstain": round(sum(abstains(r, model) for r in an) / len(an), 3) if an else None,
        }
    return out


def fit(rows_by_set: dict[str, list[dict]]) -> Model:
    """One model per language-pair group, each set weighing the same within a group; then each group's
    threshold: the highest at which no set with 10 or more answerable questions in that group abstains
    falsely on more than FALSE_ABSTAIN_BUDGET of them."""
    groups: dict[str, dict] = {}
    for group in ("same", "xling"):
        train = [(r, 1.0 / len(rows)) for rows in rows_by_set.values() for r in rows
                 if judged(r) and Model.base_group(r["features"]) == group]
        w = np.array([wt for _, wt in train])
        beta = fit_logistic(matrix([r for r, _ in train]), np.array([float(r["answerable"]) for r, _ in train]),
                            w * len(train) / w.sum())
        groups[group] = {"weights": {f: round(float(b), 5) for f, b in zip(FEATURES, beta[:-1])},
                         "bias": round(float(beta[-1]), 5), "threshold": 0.0}
    for group in groups:
        for candidate in np.arange(0.01, 0.99, 0.01):
            trial = Model({**groups, group: {**groups[group], "threshold": round(float(candidate), 3)}})
            ok = True
            for rows in rows_by_set.values():
                answerable = [r for r in rows if r["answerable"] and judged(r) and Model.base_group(r["features"]) == group]
                if len(answerable) >= 10 and sum(abstains(r, trial) for r in answerable) / len(answerable) > FALSE_ABSTAIN_BUDGET:
                    ok = False
            if ok:
                groups = trial.groups
    return Model(groups)


def main() -> None:
    seed = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--seed=")), "1")
    saved = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--from-rows=")), "")
    if saved:  # refit on features collected before (the same code must have collected them)
        data = json.loads(Path(saved).read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="newsbot-fit-") as tmp:
            data = material(Path(tmp))
    dump = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--rows=")), "")
    if dump:  # the collected features, to read misses one by one
        Path(dump).write_text(json.dumps(data, indent=1), encoding="utf-8")
    fitting = {n: [r for r in rows if half(r["id"], seed) == 0] for n, rows in data.items()}
    held = {n: [r for r in rows if half(r["id"], seed) == 1] for n, rows in data.items()}
    model = fit(fitting)
    params = {
        "features": list(FEATURES),
        "groups": model.groups,
        "false_abstain_budget": FALSE_ABSTAIN_BUDGET,
        "fitted_on": f"half A (seed {seed}) of the leave-gold-out versions of {', '.join(SETS)} and of the own set",
        "fit_report": report(fitting, model),
        "heldout_report": report(held, model),
        "script": "benchmarks/fit_answerability.py",
    }
    print(json.dumps(params, indent=2))
    if "--write" in sys.argv:  # what other fits recorded there (fit_reader.py's "reader") stays
        path = ROOT / "index" / "answering" / "answerability.json"
        kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        path.write_text(json.dumps({**kept, **params}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
