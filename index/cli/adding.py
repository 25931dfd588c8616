"""`newsbot add` and `newsbot import`: articles in, one line (or JSON object) per article out."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from newsbot.index.cli.progress import progress
from newsbot.index.cli.shared import AddParser, Parents, cli_actor, shown
from newsbot.index.records import AddError, AddResult
from newsbot.index.sources.draft import is_url, normalize_date
from newsbot.index.sources.files import iter_directory


def register(add_parser: AddParser, parents: Parents) -> None:
    add = add_parser(
        "add", parents=[parents.common, parents.json],
        description="Index articles. A SOURCE is an http(s) URL, a file (.txt, .md, .html, .pdf), a directory "
        "(searched recursively) or '-' for stdin. Articles already indexed (same content) are reported, "
        "not embedded again; a URL whose text changed replaces its old version. --json prints one JSON object "
        "per article.",
    )
    add.add_argument("sources", nargs="*", metavar="SOURCE")
    add.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                     help="a JSONL file of articles (id, title, text, url, published_at, source, lang); repeatable")
    add.add_argument("--title", help="title for the added article(s) (default: extracted, or the first line)")
    add.add_argument("--url", help="URL to record for the article (for files and stdin)")
    add.add_argument("--published", help="publication date, YYYY-MM-DD")
    add.add_argument("--source", help="outlet name, e.g. 'CBS News'")
    add.set_defaults(handler=cmd_add, opens_engine=True, writes="long")

    im = add_parser(
        "import", parents=[parents.common, parents.json],
        description="Add the articles of export files. Ids and metadata are kept; texts the embedding cache "
        "already holds are not embedded again. --all DIR imports every DIR/NAMESPACE.jsonl into its namespace.")
    im.add_argument("files", nargs="*", metavar="FILE")
    im.add_argument("--all", metavar="DIR", help="a directory written by `newsbot export --all --out DIR`")
    im.set_defaults(handler=cmd_import, opens_engine=True, writes="long")


def cmd_add(engine, ns: str, args) -> int:
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


def count_sources(sources: list[str], jsonl: list[str]) -> int:
    """How many articles an add will report (for the progress bar's total and ETA): a line per
    JSONL line, a file per supported file of a directory, one for anything else."""
    total = 0
    for source in sources:
        path = Path(source)
        total += sum(1 for _ in iter_directory(path)) if source != "-" and not is_url(source) and path.is_dir() else 1
    for name in jsonl:
        try:
            total += count_lines(Path(name))
        except OSError:
            total += 1  # reported as one error by the add
    return total


def count_lines(path: Path, block: int = 1 << 20) -> int:
    """The lines of a file that hold something besides white space, read a block at a time: a line of 60 MB
    is never held whole (counting it with `for line in f` took twice its size)."""
    count, filled = 0, False
    with open(path, "rb") as f:
        while chunk := f.read(block):
            pieces = chunk.split(b"\n")
            for piece in pieces[:-1]:  # each ends a line
                if filled or piece.strip():
                    count += 1
                filled = False
            filled = filled or bool(pieces[-1].strip())
    return count + (1 if filled else 0)


def _add_line(result: AddResult) -> str:
    a = result.article
    if result.status == "duplicate":
        return f"already indexed as {a.id}  {a.title}"
    return f"{result.status:<10} {a.id}  {a.title}  ({result.chunks} chunks)"


def cmd_import(engine, ns: str, args) -> int:
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
