"""The `newsbot` command: add, ask, sources, remove, stats.

Every command goes through `index.engine.Engine`, exactly like the bot and the eval.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from typing import Sequence

from .errors import NewsbotError
from .records import AddResult, Answer, Article

DESCRIPTION = """\
newsbot answers questions about news articles with verified citations.

Add articles (URLs, files, directories, stdin or JSONL), then ask questions in any
language; every sentence of an answer cites [n] a passage quoted verbatim from an
indexed article. When the articles do not answer, newsbot says so.

Settings come from ./.env and the environment (the environment wins); see
.env.example. NEWSBOT_DATA_DIR (default ./data) holds the index; CHROMA_HOST and
CHROMA_PORT switch to a shared Chroma server.
"""

EPILOG = """\
examples:
  newsbot add https://example.com/news/story.html
  newsbot add articles/ notes.md --source "CBS News" --published 2025-02-22
  newsbot add --jsonl ../shared/data/seed/articles.jsonl
  cat story.txt | newsbot add - --title "Minerals deal stalls"
  newsbot ask "What did Zelenskyy say about the minerals deal?"
  newsbot ask "harga nikel" --source "Sample Ekonomi" --since 2025-01-01 --json
  newsbot sources
  newsbot remove seed-trump-putin-summit
"""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to 1000)")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot-qa")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an unexpected error, print the traceback")
    base = argparse.ArgumentParser(add_help=False)
    base.add_argument("--data-dir", help="data directory (default: NEWSBOT_DATA_DIR or ./data)")
    base.add_argument("--env-file", help="settings file (default: ./.env)")
    common = argparse.ArgumentParser(add_help=False, parents=[base])
    common.add_argument("--namespace", "-n", help="index namespace (default: NEWSBOT_NAMESPACE or 'default'); the bot uses one per Discord server")
    common.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="when another newsbot command holds the index, wait up to this long for it (default: "
                        "fail at once). While `newsbot serve` runs, commands go through the bot instead")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add = sub.add_parser(
        "add", parents=[common], help="index articles from URLs, files, directories, stdin or JSONL",
        description="Index articles. A SOURCE is an http(s) URL, a file (.txt, .md, .html, .pdf), a directory "
        "(searched recursively) or '-' for stdin. Articles already indexed (same content) are reported, "
        "not embedded again; a URL whose text changed replaces its old version.",
    )
    add.add_argument("sources", nargs="*", metavar="SOURCE")
    add.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                     help="a JSONL file of articles (id, title, text, url, published_at, source, lang); repeatable")
    add.add_argument("--title", help="title for the added article(s) (default: extracted, or the first line)")
    add.add_argument("--url", help="URL to record for the article (for files and stdin)")
    add.add_argument("--published", help="publication date, YYYY-MM-DD")
    add.add_argument("--source", help="outlet name, e.g. 'CBS News'")
    add.add_argument("--json", action="store_true", help="print one JSON object per article")

    ask = sub.add_parser("ask", parents=[common], help="answer a question with cited sources",
                         description="Answer QUESTION from the indexed articles. Each sentence cites [n]; the "
                         "sources follow with the quoted passage.")
    ask.add_argument("question", help="the question; '-' reads it from standard input")
    ask.add_argument("--k", type=positive_int, help="passages to retrieve (default: NEWSBOT_TOP_K or 5)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (see README)")
    ask.add_argument("--source", dest="outlet", help="only articles from this outlet (case-insensitive)")
    ask.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    ask.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    ask.add_argument("--as-of", metavar="DATE", dest="as_of",
                     help="ask as if on DATE (YYYY-MM-DD): 'last week' or 'yesterday' in the question count from it, "
                          "also in an archive (an index with no article from the last 60 days, where they are "
                          "otherwise left alone)")
    ask.add_argument("--mode", choices=["auto", "dense", "lexical", "hybrid"], help="retrieval mode (default: NEWSBOT_RETRIEVAL_MODE or auto)")
    ask.add_argument("--lang", choices=["en", "id"],
                     help="the language of the words around the answer, and of an LLM's answer (default: English "
                     "around it, and the LLM answers in the question's language)")
    ask.add_argument("--llm", action=argparse.BooleanOptionalAction, default=None,
                     help="--llm: have the configured LLM write the answer (verified before it is shown); "
                     "--no-llm: quotes only. Default: LLM_PROVIDER decides")

    sources = sub.add_parser("sources", parents=[common], help="list indexed articles")
    sources.add_argument("--json", action="store_true", help="print a JSON list")

    remove = sub.add_parser("remove", parents=[common], help="remove an article and its chunks")
    remove.add_argument("id", help="article id, as shown by `newsbot sources`")
    remove.add_argument("--json", action="store_true", help="print the removed article as JSON")

    ex = sub.add_parser(
        "export", parents=[common], help="write every article with its text as JSONL (a backup)",
        description="Write every article of the namespace, with its text and metadata, one JSON object per line "
        "(the format `newsbot add --jsonl` and `newsbot import` read), to standard output or --out. Works "
        "whatever embedding model built the index. --all writes one FILE per namespace into the --out directory.")
    ex.add_argument("--all", action="store_true", help="every namespace, one file each (needs --out DIR)")
    ex.add_argument("--out", help="a file (or, with --all, a directory); default: standard output")

    im = sub.add_parser(
        "import", parents=[common], help="add the articles of JSONL files written by `newsbot export`",
        description="Add the articles of export files. Ids and metadata are kept; texts the embedding cache "
        "already holds are not embedded again. --all DIR imports every DIR/NAMESPACE.jsonl into its namespace.")
    im.add_argument("files", nargs="*", metavar="FILE")
    im.add_argument("--all", metavar="DIR", help="a directory written by `newsbot export --all --out DIR`")
    im.add_argument("--json", action="store_true", help="print one JSON object per article")

    rx = sub.add_parser(
        "reindex", parents=[common], help="rebuild an index with the current embedding model",
        description="Rebuild the namespace's index from the article texts it stores, with the current embedding "
        "model (after changing NEWSBOT_EMBED_PROVIDER or NEWSBOT_EMBED_MODEL, or an upgrade that changed the model). "
        "The new index is built beside the old one and replaces it only when complete.")
    rx.add_argument("--all", action="store_true", help="every namespace")
    rx.add_argument("--json", action="store_true", help="print what was rebuilt as JSON")

    fd = sub.add_parser(
        "feed", help="follow RSS, Atom and JSON feeds: new articles are added as they appear",
        description="Feeds a namespace follows. `newsbot serve` polls them (every NEWSBOT_FEED_INTERVAL_MIN minutes, "
        "conditionally, backing off on errors); `newsbot feed poll` runs one round, for cron. Each entry's page "
        "is fetched and extracted like `newsbot add URL`; entries seen before are not embedded again.")
    feed_sub = fd.add_subparsers(dest="feed_command", metavar="ACTION", required=True)
    fa = feed_sub.add_parser("add", parents=[common], help="follow a feed (or the feed a web page names)",
                             description="Fetch URL to check that it is an RSS, Atom or JSON feed, or a web page "
                             "naming one in its <link rel=\"alternate\">, then follow that feed.")
    fa.add_argument("url", help="the feed's URL, or a news site's page that names its feed")
    feed_sub.add_parser("list", parents=[common], help="the feeds followed, with their state").add_argument(
        "--json", action="store_true", help="print JSON")
    feed_sub.add_parser("remove", parents=[common], help="stop following a feed").add_argument("url")
    fp = feed_sub.add_parser("poll", parents=[common], help="poll the feeds that are due (all of them with --all)")
    fp.add_argument("--all", action="store_true", help="poll every feed of every namespace now, due or not")
    fp.add_argument("--json", action="store_true", help="print one JSON object per feed polled")

    stats = sub.add_parser("stats", parents=[common], help="counts, languages, model and store")
    stats.add_argument("--json", action="store_true", help="print JSON")

    ev = sub.add_parser(
        "eval", parents=[base], help="measure answer quality on a question set",
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
    ev.add_argument("--config", default="default", help="comma-separated presets, or 'all' (default: default, what the bot uses)")
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
    ev.add_argument("--export-questions", metavar="FILE", help="with --feedback: write the voted questions as questions JSONL")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")

    hl = sub.add_parser(
        "health", parents=[base], help="exit 0 when newsbot works here (for service health checks)",
        description="Exit 0 when the store opens and the embedding model answers; if `newsbot serve` holds the "
        "index, when the bot is connected to Discord and reported within --max-age seconds. Exit 1, with one "
        "line saying why, otherwise. --bot checks only the running bot (what a container health check runs).")
    hl.add_argument("--bot", action="store_true", help="only check the running bot's status file")
    hl.add_argument("--max-age", type=float, default=60.0, metavar="SECONDS",
                    help="how old the bot's status may be (default 60; the bot writes it every NEWSBOT_HEALTH_INTERVAL_S)")

    sub.add_parser("serve", parents=[base], help="run the Discord bot (DISCORD_TOKEN from .env)",
                   description="Run the Discord bot. It needs DISCORD_TOKEN; DISCORD_GUILD_ID syncs the commands "
                   "instantly to one server (otherwise globally). Each server gets its own namespace. "
                   "See the README's Discord section.")
    return parser


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Text from articles and users as the terminal may print it: no escape codes or other
    control characters (an outlet named "\\x1b]0;..." must not retitle the terminal)."""
    return _CONTROL.sub("", text)


def main(argv: Sequence[str] | None = None) -> int:
    import os

    os.umask(0o077)  # the store, answers.sqlite, the audit: every article and who asked what, for this user only
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except NewsbotError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsbot export | head -1`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error as Python flushes at exit
        return 141  # as a command killed by SIGPIPE (128 + 13), what `set -o pipefail` expects
    except BaseException as exc:  # a bug or an unforeseen failure: one line, the traceback on request
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # SystemExit and the like
        if args.debug:
            raise
        print(f"error: {shown(f'{exc.__class__.__name__}: {exc}')[:500]} (run `newsbot --debug ...` for the traceback)",
              file=sys.stderr)
        return 1


def _settings(args):
    from .settings import Settings

    overrides = {}
    if args.data_dir:
        from pathlib import Path

        overrides["data_dir"] = Path(args.data_dir)
    return Settings.load(args.env_file, **overrides)


def _run(args) -> int:

    if args.command == "serve":
        from newsbot.bot.app import run  # the Discord layer, imported only to serve

        from .logs import setup_logging

        settings = _settings(args)
        setup_logging(settings.log_level, settings.log_format)
        run(args.env_file, settings)
        return 0
    if args.command == "health":
        return cmd_health(_settings(args), args)
    if args.command == "feed" and args.feed_command != "poll":
        return cmd_feed(_settings(args), args)
    if args.command == "eval":
        return cmd_eval(_settings(args), args)
    settings = _settings(args)
    with open_engine(settings, args.wait) as engine:
        ns = getattr(args, "namespace", None) or settings.namespace
        return COMMANDS[args.command](engine, ns, args)


def open_engine(settings, wait_s: float = 0.0):
    """The engine, or, while `newsbot serve` holds the index, the bot's engine over its socket;
    another command holding it is waited for up to `wait_s` seconds."""
    from .data_lock import when_free
    from .engine import Engine
    from .errors import IndexBusyError
    from .remote import RemoteEngine

    def attempt():
        try:
            return Engine.open(settings)
        except IndexBusyError:
            if RemoteEngine.available(settings):
                return RemoteEngine(settings)
            raise

    return when_free(attempt, wait_s, lambda busy: print(f"waiting up to {wait_s:.0f} s: {busy}", file=sys.stderr))


# ------------------------------------------------------------------ commands

def cmd_add(engine, ns: str, args) -> int:
    from .progress import progress
    from .records import AddError
    from .loaders import normalize_date

    if not args.sources and not args.jsonl:
        print("error: give at least one SOURCE or --jsonl FILE (see newsbot add --help)", file=sys.stderr)
        return 2
    overrides = {"title": args.title, "url": args.url, "source": args.source,
                 "published_at": normalize_date(args.published) if args.published else None}

    def drafts():
        yield from engine.drafts_from_sources(args.sources, overrides)
        for path in args.jsonl:
            yield from engine.drafts_from_jsonl(path)

    counts = {"added": 0, "replaced": 0, "duplicate": 0, "error": 0}
    total = count_sources(args.sources, args.jsonl)
    bar = progress(desc="adding", unit="article", total=total, disable=total <= 1, stream=sys.stderr)

    def report(result) -> None:
        bar.update(1)
        if isinstance(result, AddError):
            counts["error"] += 1
            text = result.message if result.message.startswith(result.origin) else f"{result.origin}: {result.message}"
            bar.write(shown(f"error      {text}"), file=sys.stderr)
            if args.json:
                print(json.dumps(result.to_dict(), ensure_ascii=False))
            return
        counts[result.status] += 1
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            bar.write(shown(_add_line(result)))

    engine.add(drafts(), namespace=ns, on_result=report, actor=cli_actor())
    bar.close()
    if not args.json:
        print(f"{counts['added']} added, {counts['replaced']} replaced, {counts['duplicate']} already indexed, "
              f"{counts['error']} failed (namespace {ns!r})", file=sys.stderr)
    return 1 if counts["error"] else 0


def cli_actor() -> str:
    """Who is at the command line, for the audit file."""
    import getpass
    import os

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"cli:uid-{os.getuid()}"


def count_sources(sources: list[str], jsonl: list[str]) -> int:
    """How many articles an add will report (for the progress bar's total and ETA): a line per
    JSONL line, a file per supported file of a directory, one for anything else."""
    from pathlib import Path

    from .fetch import is_url
    from .loaders import iter_directory

    total = 0
    for source in sources:
        path = Path(source)
        total += sum(1 for _ in iter_directory(path)) if source != "-" and not is_url(source) and path.is_dir() else 1
    for name in jsonl:
        try:
            with open(name, "rb") as f:
                total += sum(1 for line in f if line.strip())
        except OSError:
            total += 1  # reported as one error by the add
    return total


def _add_line(result: AddResult) -> str:
    a = result.article
    if result.status == "duplicate":
        return f"already indexed as {a.id}  {a.title}"
    return f"{result.status:<10} {a.id}  {a.title}  ({result.chunks} chunks)"


def cmd_ask(engine, ns: str, args) -> int:
    from datetime import date

    from .loaders import normalize_date
    from .store import Filters

    filters = Filters(source=args.outlet or "", date_from=normalize_date(args.since), date_to=normalize_date(args.until))
    question = sys.stdin.read(engine.settings.max_question_chars * 4 + 1) if args.question == "-" else args.question
    today = date.fromisoformat(normalize_date(args.as_of)) if args.as_of else None
    answer = engine.ask(question, namespace=ns, k=args.k, filters=filters or None, mode=args.mode, llm=args.llm,
                        answer_lang=args.lang, today=today)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(shown(render_answer(answer, lang=args.lang or "en")))
    return 0


def render_answer(answer: Answer, width: int = 100, lang: str = "en") -> str:
    """The answer, its notes and its sources as the terminal shows them, framed in `lang`."""
    from .i18n import Messages
    from .wording import answer_text, dating, notices

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
            lines.append(textwrap.fill(f"“{' '.join(c.quote.split())}”", width, initial_indent="    ", subsequent_indent="    "))
    elif answer.abstained and answer.passages:
        if answer.closest is not None:
            c = answer.closest
            meta = ", ".join(x for x in (c.source, m.date(c.published_at) if c.published_at else "", c.url) if x)
            lines += ["", f"{m.t('answer.closest_passage')}:", f"    {c.title}" + (f" — {meta}" if meta else ""),
                      textwrap.fill(f"“{' '.join(c.quote.split())}”", width, initial_indent="    ", subsequent_indent="    ")]
        lines += ["", f"{m.t('answer.closest_articles')}:"]
        seen = set()
        for p in answer.passages:
            if p.article_id in seen:
                continue
            seen.add(p.article_id)
            meta = ", ".join(x for x in (p.source, m.date(p.published_at) if p.published_at else "", p.url) if x)
            lines.append(f"  - {p.title} ({p.article_id})" + (f" — {meta}" if meta else ""))
    return "\n".join(lines)


def cmd_sources(engine, ns: str, args) -> int:
    articles = engine.sources(ns)
    if args.json:
        print(json.dumps([_source_dict(a) for a in articles], ensure_ascii=False, indent=2))
        return 0
    if not articles:
        print(f"no articles in namespace {ns!r}; add some with `newsbot add`")
        return 0
    for a in articles:
        meta = ", ".join(x for x in (a.source, a.published_at) if x)
        print(shown(f"{a.id}  {a.title}" + (f"  — {meta}" if meta else "") + f"  ({a.chunks} chunks)"))
    print(f"{len(articles)} articles", file=sys.stderr)
    return 0


def _source_dict(a: Article) -> dict:
    return {"id": a.id, "title": a.title, "source": a.source, "published_at": a.published_at, "url": a.url,
            "chunks": a.chunks, "lang": a.lang, "added_at": a.added_at}


def cmd_remove(engine, ns: str, args) -> int:
    article = engine.remove(args.id, namespace=ns, actor=cli_actor())
    if args.json:
        print(json.dumps(_source_dict(article), ensure_ascii=False))
    else:
        print(shown(f"removed {article.id}  {article.title}  ({article.chunks} chunks)"))
    return 0


def cmd_stats(engine, ns: str, args) -> int:
    stats = engine.stats(ns)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        print(shown(render_stats(stats)))
    return 0


def render_stats(stats: dict) -> str:
    """`newsbot stats` as a person reads it (the same keys as --json)."""
    from .text import human_bytes

    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(stats["languages"].items(), key=lambda kv: -kv[1])) or "none"
    rows = [
        ("namespace", stats["namespace"]),
        ("articles", f"{stats['articles']:,}" + (f" of at most {stats['max_articles']:,}" if stats.get("max_articles") else "")),
        ("chunks", f"{stats['chunks']:,}"),
        ("languages", langs),
        ("embedding model", stats["embedding_model"]),
        ("store", stats["store"]),
        ("data directory", stats["data_dir"]),
        ("disk used", human_bytes(stats["disk_bytes"]) if stats.get("disk_bytes") is not None else "unknown"),
        ("embedding cache", f"{stats['embedding_cache_entries']:,} vectors"),
        ("retrieval mode", stats["retrieval_mode"]),
    ]
    lines = [f"{name:<16} {value}" for name, value in rows]
    if stats.get("last_added"):
        lines.append("last added")
        lines += [f"  {a['added_at'][:16].replace('T', ' ')}  {a['id']}  {a['title']}" for a in stats["last_added"]]
    return "\n".join(lines)



def cmd_health(settings, args) -> int:
    from . import health
    from .engine import Engine
    from .errors import IndexBusyError

    def bot_health() -> int:
        ok, why = health.judge(health.read_status(settings.data_dir), args.max_age)
        print(f"{'ok' if ok else 'unhealthy'}: {why}", file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1

    if args.bot:
        return bot_health()
    problems = health.file_problems(settings.data_dir, settings.cache_dir, settings.server_mode)
    for problem in problems:
        print(f"unhealthy: {shown(problem)}", file=sys.stderr)
    if problems:
        return 1
    try:
        with Engine.open(settings) as engine:
            engine.embedder.embed_query("health check")
            stats = engine.stats(settings.namespace)
    except IndexBusyError:
        return bot_health()  # the bot holds the index: its own report says whether it works
    print(f"ok: data directory {settings.data_dir}, {stats['store']}, model {stats['embedding_model']}, "
          f"{stats['articles']} articles in namespace {stats['namespace']!r}")
    return 0


def cmd_eval(settings, args) -> int:
    from pathlib import Path

    from . import eval_run
    from .evaluate import load_questions
    from .progress import progress as progress_bar
    from .presets import presets, resolve

    if args.list_configs:
        for p in presets(settings).values():
            print(f"{p.name:<12} {p.description}")
        return 0
    if args.feedback:
        path = Path(settings.data_dir) / "feedback.jsonl"
        summary = eval_run.summarize_feedback(path)
        if args.export_questions:
            rows = eval_run.feedback_questions(path)
            Path(args.export_questions).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            summary["exported"] = len(rows)
        if args.out:
            from .eval_report import feedback_page, write_page
            from .feedback import FeedbackStore

            page = write_page(feedback_page(FeedbackStore(path).read(), str(path)), Path(args.out) / "feedback.html")
            summary["page"] = str(page)
            print(f"page: {page}", file=sys.stderr)
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            print(f"{summary['total']} votes ({summary['up']} 👍, {summary['down']} 👎) from {summary['users']} users in {path}")
            for ns, c in summary["namespaces"].items():
                print(f"  {ns}: {c['up']} 👍, {c['down']} 👎")
            for q, n in summary["down_questions"]:
                print(shown(f"  👎 x{n}: {q}"))
        return 0
    if args.compare:
        from .eval_report import ReportError, eval_page, load_run, write_page

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
        from .eval_report import ReportError, load_run

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
        from .eval_report import Run, pair_configs

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
    page = eval_run.write_reports(report, Path(args.out), baseline) if args.out else None
    if args.json:
        shown_report = {**report, "configs": [{k: v for k, v in c.items() if k != "answers"} for c in report["configs"]]}
        print(json.dumps(shown_report, ensure_ascii=False, indent=2, default=str))
    else:
        print(eval_run.markdown_table(report))
        if page is not None:
            print(f"\nreport: {page} (and report.json, report.md, answers.jsonl beside it)", file=sys.stderr)
    return 1 if any(c["metrics"]["n_errors"] for c in report["configs"]) else 0


EXPORT_FIELDS = ("id", "title", "text", "url", "published_at", "source", "lang", "added_at")


def export_line(article: Article) -> str:
    return json.dumps({f: getattr(article, f) for f in EXPORT_FIELDS}, ensure_ascii=False) + "\n"


def cmd_export(engine, ns: str, args) -> int:
    from pathlib import Path

    if args.all:
        if not args.out:
            print("error: export --all writes one file per namespace: give --out DIR", file=sys.stderr)
            return 2
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        for name in engine.namespaces():
            n = _export_to(engine.export(name), folder / f"{name}.jsonl")
            print(f"{name}: {n} articles -> {folder / f'{name}.jsonl'}", file=sys.stderr)
        return 0
    if args.out:
        n = _export_to(engine.export(ns), Path(args.out))
        print(f"{n} articles of namespace {ns!r} -> {args.out}", file=sys.stderr)
        return 0
    n = 0
    for article in engine.export(ns):
        sys.stdout.write(export_line(article))
        n += 1
    sys.stdout.flush()
    print(f"{n} articles of namespace {ns!r}", file=sys.stderr)
    return 0


def _export_to(articles, path) -> int:
    """Write to a temporary file and rename it into place: a cut export never leaves half a backup."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for article in articles:
            f.write(export_line(article))
            n += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return n


def cmd_import(engine, ns: str, args) -> int:
    from pathlib import Path

    if bool(args.files) == bool(args.all):
        print("error: give export FILEs, or --all DIR (see newsbot import --help)", file=sys.stderr)
        return 2
    plain = argparse.Namespace(sources=[], title=None, url=None, source=None, published=None, json=args.json)
    if args.files:
        return cmd_add(engine, ns, argparse.Namespace(**vars(plain), jsonl=args.files))
    files = sorted(Path(args.all).glob("*.jsonl"))
    if not files:
        print(f"error: no NAMESPACE.jsonl files in {args.all}", file=sys.stderr)
        return 1
    status = 0
    for path in files:
        status |= cmd_add(engine, path.stem, argparse.Namespace(**vars(plain), jsonl=[str(path)]))
    return status


def cmd_reindex(engine, ns: str, args) -> int:
    from .progress import progress as progress_bar

    names = engine.namespaces() if args.all else [ns]
    results = []
    for name in names:
        with progress_bar(desc=f"reindexing {name}", unit="article", stream=sys.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
            result = engine.reindex(name, progress=progress)
        results.append(result.to_dict())
        if not args.json:
            change = "same model" if result.model_before == result.model_after else f"{result.model_before} -> {result.model_after}"
            print(f"{name}: {result.articles} articles, {result.chunks} chunks ({change})")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


def cmd_feed(settings, args) -> int:
    """add, list and remove touch only the feed list (they work while the bot runs); poll needs the engine."""
    from .feeds import FeedStore, follow

    store = FeedStore(settings.data_dir)
    ns = args.namespace or settings.namespace
    try:
        if args.feed_command == "add":
            feed = follow(store, settings, ns, args.url, actor=cli_actor())
            if feed.url != args.url.strip():
                print(f"that page names its feed: {feed.url}")
            print(shown(f"following {feed.url} ({feed.title or 'untitled'}) in namespace {ns!r}; `newsbot serve` polls "
                        "it, or run `newsbot feed poll`"))
        elif args.feed_command == "remove":
            feed = store.remove(ns, args.url)
            print(f"no longer following {feed.url} ({feed.articles} articles it added stay)")
        else:
            feeds = store.list(ns)
            if args.json:
                print(json.dumps([f.to_dict() for f in feeds], ensure_ascii=False, indent=2))
            elif not feeds:
                print(f"namespace {ns!r} follows no feed; add one with `newsbot feed add URL`")
            for f in feeds if not args.json else []:
                state = f"error: {f.last_error}" if f.last_error else (f"polled {f.last_polled_at}" if f.last_polled_at else "not polled yet")
                print(shown(f"{f.url}  {f.title or '(untitled)'}  {f.articles} articles  {state}"))
    finally:
        store.close()
    return 0


def cmd_feed_poll(engine, ns: str, args) -> int:
    import time

    from .feeds import FeedStore, poll
    from .remote import RemoteEngine

    if isinstance(engine, RemoteEngine):
        print("`newsbot serve` holds this index and polls its feeds itself", file=sys.stderr)
        return 0
    store = FeedStore(engine.settings.data_dir)
    try:
        feeds = store.list() if args.all else store.due(time.time())
        failed = 0
        for feed in feeds:
            result = poll(engine, store, feed, engine.settings.feed_max_per_poll)
            failed += result.status == "error"
            if args.json:
                print(json.dumps(result.to_dict(), ensure_ascii=False))
            else:
                detail = result.error if result.status == "error" else (
                    f"{result.added} added, {result.replaced} replaced, {result.duplicate} already indexed, "
                    f"{result.failed} failed" + (f", {result.skipped} left for the next poll" if result.skipped else ""))
                print(shown(f"{feed.namespace}  {feed.url}: {result.status.replace('_', ' ')}; {detail}"))
        if not feeds:
            print("no feed is due (newsbot feed poll --all polls them anyway)", file=sys.stderr)
    finally:
        store.close()
    return 1 if failed else 0


COMMANDS = {"feed": cmd_feed_poll, "add": cmd_add, "ask": cmd_ask, "sources": cmd_sources, "remove": cmd_remove, "stats": cmd_stats,
            "export": cmd_export, "import": cmd_import, "reindex": cmd_reindex}

if __name__ == "__main__":
    sys.exit(main())
