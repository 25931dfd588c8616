"""`newsbot COMMAND ...`: the parser of the command given (the others are listed, not imported) and
one handler call, with every failure turned into one line and an exit status."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from newsbot.index.cli.native_stderr import without_panic_text
from newsbot.index.cli.shared import load_settings, make_parents, open_engine, shown
from newsbot.index.errors import NewsbotError

DESCRIPTION = """\
newsbot answers questions about news articles with verified citations.

Add articles (URLs, files, directories, stdin or JSONL), then ask questions in any
language; every sentence of an answer cites [n] a passage quoted verbatim from an
indexed article. When the articles do not answer, newsbot says so.

Settings come from ./.env and the environment (the environment wins); see
.env.example. NEWSBOT_DATA_DIR (default: the user data folder, ~/.local/share/newsbot
on Linux) holds the index; CHROMA_HOST and CHROMA_PORT switch to a shared Chroma server.
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

# command -> (the module of its group, its line in `newsbot --help`), in the order --help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("adding", "index articles from URLs, files, directories, stdin or JSONL"),
    "ask": ("asking", "answer a question with cited sources"),
    "sources": ("library", "list indexed articles"),
    "remove": ("library", "remove an article and its chunks"),
    "export": ("library", "write every article with its text as JSONL (a backup)"),
    "import": ("adding", "add the articles of JSONL files written by `newsbot export`"),
    "reindex": ("library", "rebuild an index with the current embedding model"),
    "feed": ("feeds", "follow RSS, Atom and JSON feeds: new articles are added as they appear"),
    "stats": ("library", "counts, languages, model and store"),
    "eval": ("evaluation", "measure answer quality on a question set"),
    "health": ("service", "exit 0 when newsbot works here (for service health checks)"),
    "serve": ("service", "run the Discord bot (DISCORD_TOKEN from .env)"),
    "warm": ("service", "build the model files a question needs, before the first question"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot-qa")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only`, that command's in full and the others as their help line
    (so that running one command imports one group; "" imports none, for `newsbot --help`)."""
    parser = argparse.ArgumentParser(
        prog="newsbot", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an unexpected error, print the traceback")
    parents = make_parents()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = {module for name, (module, _) in COMMANDS.items() if only is None or name == only}
    registered: set[str] = set()

    def add_parser(name: str, **kw) -> argparse.ArgumentParser:
        registered.add(name)
        return sub.add_parser(name, help=COMMANDS[name][1], **kw)

    for name, (module, help_line) in COMMANDS.items():
        if name in registered:
            continue
        if module in chosen:
            importlib.import_module(f"{__package__}.{module}").register(add_parser, parents)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def command_of(argv: Sequence[str]) -> str:
    """The command named on the line ("" when none is: `newsbot --help`, `newsbot --version`)."""
    word = next((a for a in argv if not a.startswith("-")), "")
    return word if word in COMMANDS else ""


def main(argv: Sequence[str] | None = None) -> int:
    import os

    os.umask(0o077)  # the store, answers.sqlite, the audit: every article and who asked what, for this user only
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(only=command_of(argv)).parse_args(argv)
    if args.debug or args.command == "serve":  # the bot's log is its own; --debug shows everything
        return guarded(args)
    with without_panic_text():
        return guarded(args)


def guarded(args) -> int:
    """`run(args)` with every failure turned into one line and an exit status."""
    import os

    try:
        return run(args)
    except NewsbotError as exc:
        print(f"error: {shown(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsbot export | head -1`: the reader has what it wanted
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


def run(args) -> int:
    """A handler takes (settings, args), or with `opens_engine`, (engine, namespace, args). A command that
    writes for long (`writes="long"`: add, import, reindex, feed poll) answers other commands' reads meanwhile."""
    settings = load_settings(args)
    if not getattr(args, "opens_engine", False):
        return args.handler(settings, args)
    writes = getattr(args, "writes", "")
    with open_engine(settings, args.wait, writes=bool(writes)) as engine:
        if writes == "long":
            from newsbot.index.service.sharing import answering_meanwhile

            with answering_meanwhile(engine):
                return args.handler(engine, args.namespace or settings.namespace, args)
        return args.handler(engine, args.namespace or settings.namespace, args)
