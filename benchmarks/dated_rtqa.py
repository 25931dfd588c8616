"""Dates in questions on real news: rtqa-dev asked on the day each question was asked.

    python benchmarks/dated_rtqa.py [--out DIR]

RealTimeQA's questions are a weekly news quiz, and a question's id carries the quiz's date
(`rtqa-20220617_3`); 52 of the 98 say "this week". rtqa-dev's articles are dated, so giving each
question that day (`asked_on`, as `newsbot ask --as-of` does) lets "this week" filter retrieval
the way it does in a live index. Prints the default configuration's figures with and without
the days, for all questions and for the first six and the last five weeks apart (the date rules
were written reading misses from all eleven weeks, so neither half is truly held out: the
halves show whether the gain depends on a few weeks). Needs ../shared/data beside the project.
"""
from __future__ import annotations

import re
import sys
from dataclasses import replace

from common import CACHE, SHARED, WORK

from newsbot.index.evaluation.run import run_eval
from newsbot.index.evaluation.metrics import Question, aggregate, load_questions
from newsbot.index.evaluation.presets import default_preset
from newsbot.index.settings import Settings

KEYS = ("hit@1", "hit@5", "mrr@10", "answer_shown", "answer_shown_when_first", "false_abstain")
QUIZ_DAY = re.compile(r"rtqa-(\d{4})(\d{2})(\d{2})_")


def asked_on(q: Question) -> Question:
    m = QUIZ_DAY.match(q.id)
    return replace(q, asked_on=f"{m[1]}-{m[2]}-{m[3]}") if m else q


def main() -> None:
    if not (SHARED / "rtqa-dev").is_dir():
        sys.exit(f"needs {SHARED / 'rtqa-dev'}")
    settings = Settings(data_dir=WORK / "dated-rtqa", cache_dir=CACHE)
    preset = default_preset(settings)
    undated = load_questions(SHARED / "rtqa-dev" / "questions.jsonl")
    dated = [asked_on(q) for q in undated]
    weeks = sorted({q.asked_on for q in dated})
    first = set(weeks[:6])
    rows = []
    for label, questions in (("without the days", undated), ("asked on the quiz day", dated)):
        report = run_eval(SHARED / "rtqa-dev" / "articles.jsonl", questions, [preset], settings, k=10)
        answers = {a["id"]: a for a in report["configs"][0]["answers"]}
        for part, keep in (("all 11 weeks", lambda q: True), ("weeks 1-6", lambda q: q.asked_on in first),
                           ("weeks 7-11", lambda q: q.asked_on not in first)):
            chosen = [q for q in dated if keep(q)]
            metrics = aggregate([answers[q.id]["metrics"] for q in chosen])
            rows.append((label, part, len(chosen), metrics))
    print("| questions | part | n | " + " | ".join(KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for label, part, n, m in rows:
        print(f"| {label} | {part} | {n} | " + " | ".join("–" if m.get(k) is None else f"{m[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main()
