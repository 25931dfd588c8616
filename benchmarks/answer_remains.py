"""Abstain recall on leave-gold-out sets, with the questions whose answer is still in the index apart.

    python benchmarks/answer_remains.py NAME=EVAL_DIR[,ORIGINAL_QUESTIONS,LGO_DIR] ... [--seed=1] [--refit]

EVAL_DIR is a `newsbot eval --out` run over LGO_DIR (made by ../shared/tools/leavegoldout.py from
the set whose questions file is ORIGINAL_QUESTIONS: the tool empties a removed question's answers,
the original keeps them). A removed question's answer "remains" when an article it retrieved
(today's path, the `default` config) states one of its answers as whole words
(`index/evaluation/remains.py`). Per set and configuration, on half B and on every question: the
removed questions, how many of them remain answerable, how often the bot abstains on those and
shows their answer, abstain recall as the tool counts it and over the rest ("clean"), and the
highest tool-counted recall a bot can reach that answers every question it can.

`--refit`: the answerability model (`fit_answerability.fit`, the shipped recipe) refitted on half A
from the `default` runs' judgment features, once on the tool's labels and once with the remaining
questions left out of the fit; both reported on half B. Sets named in --fit-on (default idmt, facqa,
rtqa, own: the shipped model's) are fitted on; the others are only reported.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fit_answerability import abstains, fit, half  # noqa: E402

from newsbot.index.answering.answerability import Model  # noqa: E402
from newsbot.index.evaluation.metrics import contains_any, load_questions  # noqa: E402
from newsbot.index.evaluation.remains import answer_remains  # noqa: E402

GONE = "gone-"


def load_run(spec: str) -> tuple[str, list[dict], dict[str, list[str]], dict[str, str]]:
    """A run's records, the original answers of its removed questions, and the leave-gold-out articles."""
    name, _, rest = spec.partition("=")
    folder, *more = rest.split(",")
    records = [json.loads(line) for line in (Path(folder) / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    answers: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    if more:
        original, lgo = more
        answers = {q.id: q.answers for q in load_questions(original)}
        for line in (Path(lgo) / "articles.jsonl").read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            texts[article["id"]] = article.get("title", "") + "\n" + article.get("text", "")
    return name, records, answers, texts


def remaining_ids(records: list[dict], answers: dict[str, list[str]], texts: dict[str, str]) -> set[str]:
    """Removed questions whose answer an article retrieved on today's path still states."""
    out = set()
    for r in records:
        if r["config"] == "default" and r["id"].startswith(GONE):
            if answer_remains(answers.get(r["id"][len(GONE):], []), [p["article_id"] for p in r["passages"]], texts):
                out.add(r["id"])
    return out


def figures(records: list[dict], remains: set[str], answers: dict[str, list[str]]) -> dict:
    gone = [r for r in records if not r["gold_articles"]]
    rest = [r for r in gone if r["id"] not in remains]
    kept = [r for r in gone if r["id"] in remains]
    answerable = [r for r in records if r["gold_articles"]]

    def share(rows, test):
        return round(sum(map(test, rows)) / len(rows), 3) if rows else None

    return {
        "questions": len(records), "removed": len(gone), "remains": len(kept),
        "remains_abstained": share(kept, lambda r: r["abstained"]),
        "remains_shown": share(kept, lambda r: not r["abstained"]
                               and contains_any([r["answer"]], answers.get(r["id"][len(GONE):], []))),
        "abstain_recall": share(gone, lambda r: r["abstained"]),
        "clean_abstain_recall": share(rest, lambda r: r["abstained"]),
        "recall_ceiling": round(len(rest) / len(gone), 3) if gone else None,
        "false_abstain": share(answerable, lambda r: r["abstained"]),
    }


def judgment_row(r: dict) -> dict:
    """The row fit_answerability collects, from an eval record."""
    j = r.get("judgment") or {}
    row = {"id": r["id"], "answerable": bool(r["gold_articles"])}
    if not j.get("features"):
        return {**row, "rule": j.get("reason") or "none"}
    return {**row, "rule": "" if j.get("reason") in ("", "not_covered") else j["reason"], "features": j["features"]}


def refit(runs: dict, remains: dict[str, set[str]], seed: str, fit_on: list[str]) -> None:
    rows = {name: [judgment_row(r) for r in records if r["config"] == "default"] for name, records in runs.items()}
    held = {n: [r for r in rs if half(r["id"], seed) == 1] for n, rs in rows.items()}
    arms = {"tool's labels": {n: [r for r in rows[n] if half(r["id"], seed) == 0] for n in fit_on},
            "remaining left out": {n: [r for r in rows[n] if half(r["id"], seed) == 0 and r["id"] not in remains[n]]
                                   for n in fit_on}}
    print("\n| set (half B) | fitted on | abstain recall | clean abstain recall | false abstain |")
    print("|---|---|---|---|---|")
    for arm, fitting in arms.items():
        groups = {Model.base_group(r["features"]) for rs in fitting.values() for r in rs if "features" in r}
        if groups != {"same", "xling"}:
            sys.exit("--refit needs questions of both language pairs to fit on (idmt for the cross-lingual one)")
        model = fit(fitting)
        for name, rs in held.items():
            gone = [r for r in rs if not r["answerable"]]
            clean = [r for r in gone if r["id"] not in remains[name]]
            ans = [r for r in rs if r["answerable"]]
            cells = [f"{sum(abstains(r, model) for r in sel) / len(sel):.3f}" if sel else "–"
                     for sel in (gone, clean, ans)]
            print(f"| {name} | {arm} | " + " | ".join(cells) + " |")


def main() -> None:
    args = sys.argv[1:]
    seed = next((a.split("=", 1)[1] for a in args if a.startswith("--seed=")), "1")
    fit_on = next((a.split("=", 1)[1] for a in args if a.startswith("--fit-on=")), "idmt,facqa,rtqa,own").split(",")
    runs, remains, answers = {}, {}, {}
    for spec in (a for a in args if not a.startswith("--")):
        name, records, answers[name], texts = load_run(spec)
        runs[name] = records
        remains[name] = remaining_ids(records, answers[name], texts)
    keys = ("questions", "removed", "remains", "remains_abstained", "remains_shown", "abstain_recall",
            "clean_abstain_recall", "recall_ceiling", "false_abstain")
    print("| set | config | which | " + " | ".join(keys) + " |\n" + "|---" * (len(keys) + 3) + "|")
    out = {}
    for name, records in runs.items():
        for config in dict.fromkeys(r["config"] for r in records):
            for which, selected in (("half B", lambda r: half(r["id"], seed) == 1), ("all", lambda r: True)):
                rows = [r for r in records if r["config"] == config and selected(r)]
                f = figures(rows, remains[name], answers[name])
                out[f"{name}/{config}/{which}"] = f
                cells = ["–" if f[k] is None else str(f[k]) for k in keys]
                print(f"| {name} | {config} | {which} | " + " | ".join(cells) + " |")
    print(json.dumps(out), file=sys.stderr)
    if "--refit" in args:
        refit(runs, remains, seed, [n for n in fit_on if n in runs])


if __name__ == "__main__":
    main()
