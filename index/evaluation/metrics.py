"""Scoring questions against gold articles: the metrics behind the published numbers.

Pure functions over `Answer` records, so the eval command, the tests and the
tuning scripts measure exactly the path the bot uses (`Engine.ask`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from newsbot.index.records import Answer
from newsbot.index.text.words import normalize_for_match


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    answers: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    asked_on: str = ""  # the day the question was asked (ISO): what "last week" in it counts from


def load_questions(path: str | Path) -> list[Question]:
    out = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                out.append(
                    Question(
                        id=str(row["id"]),
                        question=row["question"],
                        lang=row.get("lang") or "",
                        answers=list(row.get("answers") or []),
                        article_ids=list(row.get("article_ids") or []),
                        evidence=list(row.get("evidence") or []),
                        asked_on=str(row.get("asked_on") or ""),
                    )
                )
    return out


def ranked_articles(answer: Answer) -> list[str]:
    """Article ids in the order their first passage was ranked."""
    return list(dict.fromkeys(p.article_id for p in answer.passages))


def contains_any(texts: list[str], needles: list[str]) -> bool:
    hay = [normalize_for_match(t) for t in texts]
    return any(normalize_for_match(n) and normalize_for_match(n) in h for n in needles for h in hay)


def score_question(q: Question, answer: Answer) -> dict[str, float | None]:
    """Per-question metrics; None where a metric does not apply to this question."""
    ranked = ranked_articles(answer)
    gold = set(q.article_ids)
    m: dict[str, float | None] = {}
    if gold:
        first = next((i for i, a in enumerate(ranked[:10], 1) if a in gold), None)
        for k in (1, 5, 10):
            m[f"hit@{k}"] = float(first is not None and first <= k)
        m["mrr@10"] = 1.0 / first if first else 0.0
        m["recall@10"] = len(gold & set(ranked[:10])) / len(gold) if len(gold) > 1 else None
        dcg = sum(1.0 / math.log2(i + 1) for i, a in enumerate(ranked[:10], 1) if a in gold)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), 10) + 1))
        m["ndcg@10"] = dcg / ideal
    if gold and q.answers:
        top5 = [p.text for p in answer.passages[:5]]
        m["answer@5"] = float(contains_any(top5, q.answers))
        cited_chunks = {c.chunk_id for c in answer.citations}
        cited = [p.text for p in answer.passages if p.chunk_id in cited_chunks]
        m["answer_cited"] = float(contains_any(cited, q.answers))
        # What the user reads: the answer text itself (an abstention shows nothing, so it misses).
        shown = 0.0 if answer.abstained else float(contains_any([answer.answer], q.answers))
        m["answer_shown"] = shown
        first_is_gold = bool(answer.citations) and answer.citations[0].article_id in gold
        m["answer_shown_when_first"] = shown if first_is_gold else None
    if gold and q.evidence:
        m["evidence@5"] = float(contains_any([p.text for p in answer.passages[:5]], q.evidence))
    m["abstained"] = float(answer.abstained)
    m["answerable"] = float(bool(gold))
    return m


def citation_valid(answer: Answer, article_texts: dict[str, str]) -> bool:
    """Every [n] names a citation, every citation's quote is verbatim in its article at its offsets,
    and every span the answer puts in quote marks is in an article it cites."""
    import re

    from newsbot.index.answering.generated import quoted_spans
    from newsbot.index.text.words import normalize_for_match

    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    if numbers - {c.n for c in answer.citations}:
        return False
    if not all(article_texts.get(c.article_id, "")[c.start : c.end] == c.quote for c in answer.citations):
        return False
    cited = [normalize_for_match(article_texts.get(c.article_id, "")) for c in answer.citations]
    for segment in re.split(r"(?:\s*\[\d+\])+", answer.answer):  # quotes are checked within one cited sentence
        if any(not any(normalize_for_match(q) in text for text in cited) for q in quoted_spans(segment)):
            return False
    return True


METRIC_KEYS = (
    "hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10", "answer@5", "answer_cited", "answer_shown",
    "answer_shown_when_first", "evidence@5",
    "citation_validity", "abstain_precision", "abstain_recall", "false_abstain", "latency_p50_ms", "latency_p95_ms",
    "n_questions", "n_errors",
)


def format_metric(key: str, value) -> str:
    """A metric as the reports print it: counts whole, latencies in ms, the rest to 3 places, – for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key.startswith("n_"):
        return str(int(value))
    if key.endswith("_ms"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate(rows: list[dict]) -> dict[str, float | None]:
    """The report's metrics over per-question rows; None where a metric has no questions.

    A row with "error" counts in n_questions and n_errors, and as a miss for the
    retrieval and answer metrics of its question: errors are never silently dropped.
    """
    out: dict[str, float | None] = {}
    for key in ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10", "answer@5", "answer_cited",
                "answer_shown",
                "answer_shown_when_first", "evidence@5"):
        out[key] = _mean([r[key] for r in rows if r.get(key) is not None])
    scored = [r for r in rows if "error" not in r]
    out["citation_validity"] = _mean([float(r["citation_valid"]) for r in scored if "citation_valid" in r])
    unanswerable = [r for r in scored if not r["answerable"]]
    answerable = [r for r in scored if r["answerable"]]
    abstained = [r for r in scored if r["abstained"]]
    true_abstain = sum(1 for r in abstained if not r["answerable"])
    out["abstain_precision"] = true_abstain / len(abstained) if abstained else None
    out["abstain_recall"] = true_abstain / len(unanswerable) if unanswerable else None
    out["false_abstain"] = sum(1 for r in answerable if r["abstained"]) / len(answerable) if answerable else None
    latencies = [r["latency_ms"] for r in scored if "latency_ms" in r]
    out["latency_p50_ms"] = _percentile(latencies, 0.50)
    out["latency_p95_ms"] = _percentile(latencies, 0.95)
    out["n_questions"] = float(len(rows))
    out["n_errors"] = float(len(rows) - len(scored))
    return out


def error_row(q: Question, message: str) -> dict:
    """A question whose run failed: a miss on every metric that applies to it."""
    row: dict = {"error": message, "answerable": float(bool(q.article_ids)), "abstained": 0.0}
    if q.article_ids:
        row.update({"hit@1": 0.0, "hit@5": 0.0, "hit@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0})
        row["recall@10"] = 0.0 if len(q.article_ids) > 1 else None
        if q.answers:
            row.update({"answer@5": 0.0, "answer_cited": 0.0, "answer_shown": 0.0})
        if q.evidence:
            row["evidence@5"] = 0.0
    return row
