"""Eval runs made up for report tests and the report benchmark: the shape of answers.jsonl, with as
many questions and as long passages as a test needs."""
from __future__ import annotations

import json
import random
from pathlib import Path

from newsbot.index.evaluation.report import Run


def record(i: int, *, config: str = "default", answerable: bool = True, abstained: bool = False, shown: bool = True,
           lang: str = "en", probability: float = 0.9, threshold: float = 0.16, passage_chars: int = 400) -> dict:
    gold = [f"a{i}"] if answerable else []
    cited = f"a{i}" if shown or not answerable else f"b{i}"
    text = ("Lorem ipsum dolor sit amet, the council said on Tuesday. " * (passage_chars // 56 + 1))[:passage_chars]
    return {
        "config": config, "id": f"q{i}", "question": f"What did the council say about plan {i}?", "lang": lang,
        "gold_articles": gold, "gold_answers": ["the plan"] if answerable else [], "gold_rank": 1 if answerable else None,
        "latency_ms": 20.0 + i % 50, "answer": "I could not find it." if abstained else f"The plan {i} was approved. [1]",
        "abstained": abstained, "reason": "not_covered" if abstained else "",
        "judgment": {"answerable": not abstained, "reason": "not_covered" if abstained else "",
                     "probability": probability, "threshold": threshold, "features": {"rel1": 0.8, "xling": 0.0},
                     "names": [], "years": [], "read": []},
        "citations": [] if abstained else [{"n": 1, "article_id": cited, "title": f"Plan {i}", "source": "Example News",
                                            "published_at": "2025-02-18", "url": f"https://example.com/{i}",
                                            "quote": f"The plan {i} was approved."}],
        "passages": [{"article_id": f"a{i}" if k == 0 else f"b{i}-{k}", "chunk_id": f"a{i}#{k}", "score": 0.9 - k / 10,
                      "relevance": 0.8, "dense": 0.85, "title": f"Plan {i}", "text": text} for k in range(5)],
        "metrics": {"answer_shown": float(shown and not abstained) if answerable else None},
    }


def synthetic_run(n: int, *, configs: tuple[str, ...] = ("default",), passage_chars: int = 400, seed: int = 0) -> Run:
    """n questions per configuration: a third unanswerable, two languages, every outcome represented."""
    rng = random.Random(seed)
    records = []
    for config in configs:
        for i in range(n):
            answerable = i % 3 != 0
            p = rng.random()
            records.append(record(i, config=config, answerable=answerable, abstained=p < 0.16, shown=rng.random() < 0.7,
                                  lang="id" if i % 2 else "en", probability=p, passage_chars=passage_chars))
    metrics = {"answer_shown": 0.6, "abstain_recall": 0.3, "false_abstain": 0.1, "hit@5": 0.9,
               "citation_validity": 1.0, "latency_p95_ms": 60.0, "n_questions": float(n)}
    report = {"articles": "synthetic.jsonl", "n_questions": n, "k": 10,
              "configs": [{"name": c, "description": f"config {c}", "metrics": metrics,
                           "by_language": {"en": metrics, "id": metrics}} for c in configs]}
    return Run("synthetic", report, records)


def write_run(run: Run, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(run.report), encoding="utf-8")
    (folder / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in run.records), encoding="utf-8")
    return folder
