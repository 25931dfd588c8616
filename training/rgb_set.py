"""An RGB-kind dev set (negative rejection): a question, the one result of its week that states
the answer, and results of the same topic that don't. Built from RealTimeQA's train weeks that
`splits.held_back` keeps out of training.

    python -m training.rgb_set --out benchmarks/work/rgb-dev
    python ../shared/tools/leavegoldout.py benchmarks/work/rgb-dev benchmarks/work/rgb-dev-lgo
    newsbot eval --articles benchmarks/work/rgb-dev-lgo/articles.jsonl --questions benchmarks/work/rgb-dev-lgo/questions.jsonl

Written outside the repository (the articles are RealTimeQA's: research use). The index holds
every held-back week's results, so each question's distractors are its own week's near-topic
results plus everything else of those weeks.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .pairs import TRAIN, read_jsonl
from .splits import held_back


def build(train_dir: Path) -> tuple[list[dict], list[dict]]:
    """(articles, questions): questions of held-back weeks with an answering result (every result that
    states the answer is gold, so that leaving gold out leaves none) and at
    least two near-topic results that don't state the answer."""
    folder = train_dir / "rtqa-train"
    articles = {a["id"]: a for a in read_jsonl(folder / "articles.jsonl")}
    questions, kept = [], set()
    for q in read_jsonl(folder / "questions.jsonl"):
        gold = [g for g in q.get("article_ids") or [] if g in articles]
        near = [r for r in q.get("retrieved") or [] if r not in gold and r in articles]
        if held_back(q.get("asked_on", "")) and gold and len(near) >= 2 and q.get("answers"):
            questions.append({k: q[k] for k in ("id", "question", "lang", "answers", "article_ids", "evidence",
                                                "asked_on") if k in q} | {"article_ids": gold})
            kept.update(gold + near)
    return [articles[i] for i in sorted(kept)], questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-dir", type=Path, default=TRAIN)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not (args.train_dir / "rtqa-train").is_dir():
        print(f"error: no RealTimeQA training data under {args.train_dir}", file=sys.stderr)
        return 1
    articles, questions = build(args.train_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("articles.jsonl", articles), ("questions.jsonl", questions)):
        with (args.out / name).open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"{len(questions)} questions, {len(articles)} articles (held-back weeks of {args.train_dir / 'rtqa-train'}) "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
