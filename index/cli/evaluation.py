"""`newsbot eval`: a question set asked through the bot's path, reported as report.html and its data;
two finished runs compared (--compare); the bot's 👍/👎 votes summarised (--feedback)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from newsbot.index.cli.progress import progress as progress_bar
from newsbot.index.cli.shared import AddParser, Parents, positive_int, shown
from newsbot.index.evaluation import run as eval_run
from newsbot.index.evaluation.metrics import load_questions
from newsbot.index.evaluation.presets import presets, resolve
from newsbot.index.evaluation.report import (
    ReportError,
    Run,
    eval_page,
    feedback_page,
    load_run,
    pair_configs,
    write_page,
)
from newsbot.index.storage.feedback import FeedbackStore


def register(add_parser: AddParser, parents: Parents) -> None:
    ev = add_parser(
        "eval", parents=[parents.base, parents.json],
        description="Build a fresh index from ARTICLES (in a temporary directory, or --work-dir), ask every "
        "question of QUESTIONS through the same path as the bot, and report retrieval and answer metrics "
        "for each configuration side by side: a table here, and with --out DIR report.html (the page to read, "
        "offline, with pictures and every question), report.json, report.md and answers.jsonl. --compare draws "
        "two finished runs' differences. The embedding cache is "
        "shared with your index, so a second run embeds nothing. File formats: ../shared/data/README.md.",
    )
    ev.add_argument("--articles", action="append", metavar="FILE",
                    help="articles JSONL; repeat it to index several files together (a mixed-language index)")
    ev.add_argument("--questions", help="questions JSONL")
    ev.add_argument("--config", default="default", help="comma-separated presets, or 'all' (default: default, what the "
                                                        "bot uses)")
    ev.add_argument("--k", type=positive_int, default=10, help="passages retrieved per question (default 10)")
    ev.add_argument("--out", help="directory for report.html (the page to read), report.json, report.md and "
                    "answers.jsonl; with --compare or --feedback, where the page goes")
    ev.add_argument("--baseline", metavar="DIR", help="with a run: compare it against an earlier run's --out DIR "
                    "in report.html")
    ev.add_argument("--compare", nargs=2, metavar=("OLD_DIR", "NEW_DIR"), help="draw the page of two finished runs "
                    "with their differences (NEW_DIR/compare.html, or --out DIR/report.html); runs nothing")
    ev.add_argument("--work-dir", help="keep the evaluation indexes here (default: a temporary directory)")
    ev.add_argument("--limit", type=positive_int, help="only the first N questions")
    ev.add_argument("--list-configs", action="store_true", help="list the presets and exit")
    ev.add_argument("--feedback", action="store_true", help="summarise the 👍/👎 feedback the bot stored instead "
                    "(with --out DIR, also DIR/feedback.html: the questions voted down, with what was shown)")
    ev.add_argument("--export-questions", metavar="FILE", help="with --feedback: write the voted questions as "
                                                               "questions JSONL")
    ev.set_defaults(handler=cmd_eval)


def cmd_eval(settings, args) -> int:
    if args.list_configs:
        for p in presets(settings).values():
            print(f"{p.name:<12} {p.description}")
        return 0
    if args.feedback:
        path = Path(settings.data_dir) / "feedback.jsonl"
        summary = eval_run.summarize_feedback(path)
        if args.export_questions:
            rows = eval_run.feedback_questions(path)
            Path(args.export_questions).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                   encoding="utf-8")
            summary["exported"] = len(rows)
        if args.out:
            page = write_page(feedback_page(FeedbackStore(path).read(), str(path)), Path(args.out) / "feedback.html")
            summary["page"] = str(page)
            print(f"page: {page}", file=sys.stderr)
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            print(f"{summary['total']} votes ({summary['up']} 👍, {summary['down']} 👎) "
                  f"from {summary['users']} users in {path}")
            for ns, c in summary["namespaces"].items():
                print(f"  {ns}: {c['up']} 👍, {c['down']} 👎")
            for q, n in summary["down_questions"]:
                print(shown(f"  👎 x{n}: {q}"))
        return 0
    if args.compare:
        try:
            old, new = load_run(args.compare[0]), load_run(args.compare[1])
        except ReportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        target = Path(args.out) / "report.html" if args.out else Path(args.compare[1]) / "compare.html"
        try:
            print(f"page: {write_page(eval_page(new, old), target)}")
        except ReportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if not args.articles or not args.questions:
        print("error: eval needs --articles and --questions (or --compare, or --feedback)", file=sys.stderr)
        return 2
    baseline = None
    if args.baseline:
        if not args.out:
            print("error: --baseline draws report.html: give --out DIR too", file=sys.stderr)
            return 2
        try:
            baseline = load_run(args.baseline)
        except ReportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    configs = resolve(args.config, settings)
    if baseline is not None:
        if not pair_configs(Run("", {"configs": [{"name": p.name} for p in configs]}, []), baseline):
            print(f"error: the baseline {args.baseline} has configs {', '.join(baseline.names())}, this run "
                  f"{', '.join(p.name for p in configs)}: run the same --config in both", file=sys.stderr)
            return 2
    questions = load_questions(args.questions)[: args.limit or None]

    def progress(**kw):
        return progress_bar(stream=sys.stderr, **kw)

    report = eval_run.run_eval([Path(a) for a in args.articles], questions, configs, settings, k=args.k,
                               work_dir=Path(args.work_dir) if args.work_dir else None, progress=progress)
    report["questions"] = args.questions
    report_page = eval_run.write_reports(report, Path(args.out), baseline) if args.out else None
    if args.json:
        shown_report = {**report,
                        "configs": [{k: v for k, v in c.items() if k != "answers"} for c in report["configs"]]}
        print(json.dumps(shown_report, ensure_ascii=False, indent=2, default=str))
    else:
        print(eval_run.markdown_table(report))
        if report_page is not None:
            print(f"\nreport: {report_page} (and report.json, report.md, answers.jsonl beside it)", file=sys.stderr)
    return 1 if any(c["metrics"]["n_errors"] for c in report["configs"]) else 0
