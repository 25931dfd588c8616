"""`newsbot eval`: build a fresh index from articles files, ask every question through
`Engine.ask` (the bot's path) for each configuration, and report the metrics.

The embedding cache is shared with the user's index (NEWSBOT_CACHE_DIR, else
NEWSBOT_DATA_DIR), so a second run on the same corpus embeds nothing.
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Callable

from newsbot.index.engine import Engine
from newsbot.index.evaluation.metrics import (
    METRIC_KEYS,
    Question,
    aggregate,
    citation_valid,
    error_row,
    format_metric,
    ranked_articles,
    score_question,
)
from newsbot.index.evaluation.presets import Preset
from newsbot.index.records import AddError
from newsbot.index.settings import Settings
from newsbot.index.storage.feedback import FeedbackStore

Progress = Callable[..., object]  # tqdm-like factory: progress(total=, desc=, unit=)


def _no_progress(**kwargs):
    class Bar:
        def update(self, n=1):
            pass

        def close(self):
            pass

        def set_postfix_str(self, s):
            pass

    return Bar()


def run_eval(
    articles: Path | list[Path],
    questions: list[Question],
    configs: list[Preset],
    settings: Settings,
    *,
    k: int = 10,
    work_dir: Path | None = None,
    progress: Progress = _no_progress,
) -> dict:
    """The report: {"configs": [{"name", "description", "metrics", "by_language"}], ...}."""
    cache_dir = Path(settings.cache_dir or settings.data_dir)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="newsbot-eval-")
        work_dir = Path(tmp.name)
    articles = [articles] if isinstance(articles, Path) else list(articles)
    report: dict = {"articles": ", ".join(map(str, articles)), "n_questions": len(questions), "k": k, "configs": []}
    try:
        engines: dict[tuple[int, int], Engine] = {}
        for preset in configs:
            key = (preset.chunk_tokens, preset.chunk_overlap)
            if key not in engines:
                engines[key] = _build_index(articles, settings, work_dir, cache_dir, preset, progress, report)
            engine = engines[key]
            report["configs"].append(_run_config(engine, preset, questions, k, progress))
    finally:
        for engine in locals().get("engines", {}).values():
            engine.close()
        if tmp is not None:
            tmp.cleanup()
    return report


def _build_index(articles, settings, work_dir, cache_dir, preset, progress, report) -> Engine:
    data_dir = work_dir / f"index-{preset.chunk_tokens}-{preset.chunk_overlap}"
    engine_settings = replace(settings, data_dir=data_dir, cache_dir=cache_dir, chroma_host="",
                              chunk_tokens=preset.chunk_tokens, chunk_overlap=preset.chunk_overlap, namespace="eval")
    engine = Engine(engine_settings)
    total = sum(1 for path in articles for line in open(path, encoding="utf-8") if line.strip())
    bar = progress(total=total, desc=f"indexing ({preset.chunk_tokens}-token chunks)", unit="article")
    started = time.perf_counter()
    before = engine.embedder.stats["embedded"]
    errors = []

    def on_result(result):
        bar.update(1)
        if isinstance(result, AddError):
            errors.append(result.message)

    engine.add((d for path in articles for d in engine.drafts_from_jsonl(str(path))), on_result=on_result)
    bar.close()
    report.setdefault("indexes", []).append({
        "chunk_tokens": preset.chunk_tokens, "articles": total, "chunks": engine.store().count_chunks(),
        "embedded": engine.embedder.stats["embedded"] - before, "seconds": round(time.perf_counter() - started, 1),
        "errors": errors[:20],
    })
    return engine


def _run_config(engine: Engine, preset: Preset, questions: list[Question], k: int, progress) -> dict:
    st = engine.store()
    texts = {a.id: a.text for a in st.get_articles([a.id for a in st.list_articles()], with_text=True).values()}
    rows: list[dict] = []
    langs: list[str] = []
    answers: list[dict] = []
    bar = progress(total=len(questions), desc=f"asking ({preset.name})", unit="question")
    for q in questions:
        try:
            started = time.perf_counter()
            answer = engine.ask(q.question, k=k, retrieval=preset.retrieval, llm=preset.llm, reader=preset.reader,
                                today=date.fromisoformat(q.asked_on) if q.asked_on else None)
            row = score_question(q, answer)
            row["latency_ms"] = (time.perf_counter() - started) * 1000
            row["citation_valid"] = citation_valid(answer, texts)
            answers.append(answer_record(preset.name, q, answer, row))
        except Exception as exc:  # counted and reported, never dropped
            row = error_row(q, f"{exc.__class__.__name__}: {exc}")
            answers.append({"config": preset.name, "id": q.id, "question": q.question, "lang": q.lang or "",
                            "gold_articles": q.article_ids, "gold_answers": q.answers, "error": row["error"]})
        rows.append(row)
        langs.append(q.lang or "?")
        bar.update(1)
    bar.close()
    by_language = {
        lang: aggregate([r for r, lg in zip(rows, langs) if lg == lang]) for lang in sorted(set(langs))
    }
    errors = [{"question": q.id, "error": r["error"]} for q, r in zip(questions, rows) if "error" in r]
    return {"name": preset.name, "description": preset.description, "metrics": aggregate(rows),
            "by_language": by_language, "errors": errors[:50], "answers": answers}


def answer_record(config: str, q: Question, answer, row: dict) -> dict:
    """One line of answers.jsonl: what the user read, why, and what it was chosen from, to read misses one by
    one (the passages in full; report.html cuts them)."""
    gold = set(q.article_ids)
    gold_rank = next((i for i, a in enumerate(ranked_articles(answer)[:10], 1) if a in gold), None)
    latency = row.get("latency_ms")
    return {
        "config": config, "id": q.id, "question": q.question, "lang": q.lang or "", "gold_articles": q.article_ids,
        "gold_answers": q.answers, "gold_rank": gold_rank,
        "latency_ms": None if latency is None else round(latency, 1),
        "asked_on": q.asked_on or None, "date_range": answer.date_range, "as_of": answer.as_of or None,
        "answer": answer.answer, "abstained": answer.abstained, "reason": answer.reason,
        "judgment": answer.judgment.to_dict() if answer.judgment is not None else None,
        "citations": [c.to_dict() for c in answer.citations],
        "passages": [{"article_id": p.article_id, "chunk_id": p.chunk_id, "score": round(p.score, 4),
                      "relevance": round(p.relevance or 0.0, 4), "dense": round(p.dense or 0.0, 4), "title": p.title,
                      "text": p.text} for p in answer.passages[:5]],
        "metrics": {k: v for k, v in row.items() if k not in ("latency_ms",)},
    }


# ------------------------------------------------------------------ reports

def markdown_table(report: dict) -> str:
    head = "| config | " + " | ".join(METRIC_KEYS) + " |"
    sep = "|---" * (len(METRIC_KEYS) + 1) + "|"
    lines = [head, sep]
    for c in report["configs"]:
        lines.append(f"| {c['name']} | " + " | ".join(format_metric(k,
                                                                    c["metrics"].get(k)) for k in METRIC_KEYS) + " |")
        if len(c["by_language"]) > 1:
            for lang, m in c["by_language"].items():
                lines.append(f"| ↳ {lang} | " + " | ".join(format_metric(k, m.get(k)) for k in METRIC_KEYS) + " |")
    return "\n".join(lines)


def write_reports(report: dict, out: Path, baseline=None) -> Path:
    """report.json, answers.jsonl, report.md and report.html (against `baseline`, an eval_report.Run, if
    given); returns the page's path."""
    from newsbot.index.evaluation.report import Run, eval_page, write_page

    out.mkdir(parents=True, exist_ok=True)
    clean = json.loads(json.dumps(report, default=str).replace("NaN", "null"))
    records = []
    with open(out / "answers.jsonl", "w", encoding="utf-8") as handle:
        for c in clean["configs"]:
            for record in c.pop("answers", []):
                records.append(record)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    for c in clean["configs"]:
        c["metrics"] = {k: c["metrics"].get(k) for k in METRIC_KEYS}
    (out / "report.json").write_text(json.dumps(clean, indent=2, ensure_ascii=False), encoding="utf-8")
    md = ["# newsbot eval", "", f"articles: `{report['articles']}`, questions: {report['n_questions']}, k = "
                                f"{report['k']}", ""]
    for idx in report.get("indexes", []):
        md.append(f"- index with {idx['chunk_tokens']}-token chunks: {idx['articles']} articles, {idx['chunks']} "
                  f"chunks, "
                  f"{idx['embedded']} texts embedded (the rest from the cache), {idx['seconds']} s")
    md += ["", markdown_table(report), ""]
    for c in report["configs"]:
        md.append(f"- **{c['name']}**: {c['description']}")
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return write_page(eval_page(Run(str(out), clean, records), baseline), out / "report.html")


def summarize_feedback(path: Path) -> dict:
    """👍/👎 counts overall and per namespace, and the questions voted down most."""
    rows = FeedbackStore(path).read()
    summary: dict = {"file": str(path), "total": len(rows), "up": 0, "down": 0, "namespaces": {}, "down_questions": []}
    down: dict[str, int] = {}
    for r in rows:
        vote = r.get("vote")
        summary[vote] = summary.get(vote, 0) + 1
        ns = summary["namespaces"].setdefault(r.get("namespace", "?"), {"up": 0, "down": 0})
        ns[vote] = ns.get(vote, 0) + 1
        if vote == "down":
            down[r.get("question", "")] = down.get(r.get("question", ""), 0) + 1
    summary["users"] = len({r.get("user") for r in rows})
    summary["down_questions"] = sorted(down.items(), key=lambda kv: -kv[1])[:20]
    return summary


def feedback_questions(path: Path) -> list[dict]:
    """Voted questions in the questions.jsonl format: 👍 answers name their cited articles as gold."""
    out = []
    for i, r in enumerate(FeedbackStore(path).read()):
        gold = list(dict.fromkeys(c["article_id"] for c in r.get("citations", []))) if r.get("vote") == "up" else []
        out.append({"id": f"feedback-{i}", "question": r.get("question", ""), "lang": "", "answers": [],
                    "article_ids": gold, "evidence": [], "vote": r.get("vote"), "namespace": r.get("namespace")})
    return out
