"""`newsbot ask`: a question in, the answer with its sources out (as the terminal shows them, or JSON)."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import date

from newsbot.index.cli.shared import AddParser, Parents, positive_int, shown
from newsbot.index.i18n.catalogue import Messages
from newsbot.index.i18n.wording import answer_text, closest_label, dating, notices
from newsbot.index.records import Answer
from newsbot.index.sources.draft import normalize_date
from newsbot.index.storage.store import Filters


def register(add_parser: AddParser, parents: Parents) -> None:
    ask = add_parser("ask", parents=[parents.common, parents.json],
                     description="Answer QUESTION from the indexed articles. Each sentence cites [n]; the "
                     "sources follow with the quoted passage. --json prints the answer as JSON (see README).")
    ask.add_argument("question", help="the question; '-' reads it from standard input")
    ask.add_argument("--k", type=positive_int, help="passages to retrieve (default: NEWSBOT_TOP_K or 5)")
    ask.add_argument("--source", dest="outlet", help="only articles from this outlet (case-insensitive)")
    ask.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    ask.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    ask.add_argument("--as-of", metavar="DATE", dest="as_of",
                     help="ask as if on DATE (YYYY-MM-DD): 'last week' or 'yesterday' in the question count from it, "
                          "also in an archive (an index with no article from the last 60 days, where they are "
                          "otherwise left alone)")
    ask.add_argument("--mode", choices=["auto", "dense", "lexical", "hybrid"], help="retrieval mode (default: "
                                                                                    "NEWSBOT_RETRIEVAL_MODE or auto)")
    ask.add_argument("--lang", choices=["en", "id"],
                     help="the language of the words around the answer, and of an LLM's answer (default: English "
                     "around it, and the LLM answers in the question's language)")
    ask.add_argument("--llm", action=argparse.BooleanOptionalAction, default=None,
                     help="--llm: have the configured LLM write the answer (verified before it is shown); "
                     "--no-llm: quotes only. Default: LLM_PROVIDER decides")
    ask.set_defaults(handler=cmd_ask, opens_engine=True)


def cmd_ask(engine, ns: str, args) -> int:
    filters = Filters(source=args.outlet or "", date_from=normalize_date(args.since),
                      date_to=normalize_date(args.until))
    question = sys.stdin.read(engine.settings.max_question_chars * 4 + 1) if args.question == "-" else args.question
    today = date.fromisoformat(normalize_date(args.as_of)) if args.as_of else None
    answer = engine.ask(question, namespace=ns, k=args.k, filters=filters or None, mode=args.mode, llm=args.llm,
                        answer_lang=args.lang, today=today)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(shown(render_answer(answer, lang=args.lang or "en")))
    if answer.reason == "no_articles":  # an empty store is often the wrong folder: say which one was read
        print(shown(empty_store_hint(engine.settings, ns)), file=sys.stderr)
    return 0


def empty_store_hint(settings, namespace: str) -> str:
    where = (f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}" if settings.server_mode
             else f"the data directory {settings.data_dir}")
    return (f"(looked in namespace {namespace!r} of {where}: add articles with `newsbot add`, or point "
            "NEWSBOT_DATA_DIR or --data-dir at the folder that holds your index)")


def render_answer(answer: Answer, width: int = 100, lang: str = "en") -> str:
    """The answer, its notes and its sources as the terminal shows them, framed in `lang`."""
    m = Messages(lang)
    lines = [textwrap.fill(answer_text(answer, m), width), *dating(answer, m)]
    if answer.mode == "llm" and not answer.abstained:
        lines.append(m.t("answer.written_by_cli", model=answer.model))
        if answer.removed:
            lines[-1] = lines[-1][:-1] + f"; {m.t('answer.removed_cli', count=len(answer.removed))})"
    lines += [m.t("answer.note", note=note) for note in notices(answer, m)]
    if answer.citations:
        lines += ["", f"{m.t('answer.sources')}:"]
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, m.date(c.published_at) if c.published_at else "", c.url) if x)
            lines.append(f"[{c.n}] {c.title}" + (f" — {meta}" if meta else ""))
            lines.append(textwrap.fill(f"“{' '.join(c.quote.split())}”", width, initial_indent="    ",
                                       subsequent_indent="    "))
    elif answer.abstained and (answer.passages or answer.closest is not None):
        if answer.closest is not None:
            c = answer.closest
            meta = ", ".join(x for x in (c.source, m.date(c.published_at) if c.published_at else "", c.url) if x)
            lines += ["", f"{closest_label(answer, m)}:", f"    {c.title}" + (f" — {meta}" if meta else ""),
                      textwrap.fill(f"“{' '.join(c.quote.split())}”", width, initial_indent="    ",
                                    subsequent_indent="    ")]
        lines += ["", f"{m.t('answer.closest_articles')}:"] if answer.passages else []
        seen = set()
        for p in answer.passages:
            if p.article_id in seen:
                continue
            seen.add(p.article_id)
            meta = ", ".join(x for x in (p.source, m.date(p.published_at) if p.published_at else "", p.url) if x)
            lines.append(f"  - {p.title} ({p.article_id})" + (f" — {meta}" if meta else ""))
    return "\n".join(lines)
