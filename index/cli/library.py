"""The articles a namespace holds: `sources`, `remove`, `export`, `reindex` and `stats`."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from newsbot.index.cli.progress import progress as progress_bar
from newsbot.index.cli.shared import AddParser, Parents, cli_actor, shown
from newsbot.index.records import Article, Stats
from newsbot.index.text.words import human_bytes


def register(add_parser: AddParser, parents: Parents) -> None:
    add_parser("sources", parents=[parents.common, parents.json]).set_defaults(handler=cmd_sources, opens_engine=True)

    remove = add_parser("remove", parents=[parents.common, parents.json])
    remove.add_argument("id", help="article id, as shown by `newsbot sources`")
    remove.set_defaults(handler=cmd_remove, opens_engine=True, writes="short")

    ex = add_parser(
        "export", parents=[parents.common],
        description="Write every article of the namespace, with its text and metadata, one JSON object per line "
        "(the format `newsbot add --jsonl` and `newsbot import` read), to standard output or --out. Works "
        "whatever embedding model built the index. --all writes one FILE per namespace into the --out directory.")
    ex.add_argument("--all", action="store_true", help="every namespace, one file each (needs --out DIR)")
    ex.add_argument("--out", help="a file (or, with --all, a directory); default: standard output")
    ex.set_defaults(handler=cmd_export, opens_engine=True)

    rx = add_parser(
        "reindex", parents=[parents.common, parents.json],
        description="Rebuild the namespace's index from the article texts it stores, with the current embedding "
        "model (after changing NEWSBOT_EMBED_PROVIDER or NEWSBOT_EMBED_MODEL, or an upgrade that changed the model). "
        "The new index is built beside the old one and replaces it only when complete.")
    rx.add_argument("--all", action="store_true", help="every namespace")
    rx.set_defaults(handler=cmd_reindex, opens_engine=True, writes="long")

    add_parser("stats", parents=[parents.common, parents.json]).set_defaults(handler=cmd_stats, opens_engine=True)


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


EXPORT_FIELDS = ("id", "title", "text", "url", "published_at", "source", "lang", "added_at")


def export_line(article: Article) -> str:
    return json.dumps({f: getattr(article, f) for f in EXPORT_FIELDS}, ensure_ascii=False) + "\n"


def cmd_export(engine, ns: str, args) -> int:
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


def _export_to(articles, path: Path) -> int:
    """Write to a temporary file and rename it into place: a cut export never leaves half a backup."""
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


def cmd_reindex(engine, ns: str, args) -> int:
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
            change = ("same model" if result.model_before == result.model_after
                      else f"{result.model_before} -> {result.model_after}")
            print(f"{name}: {result.articles} articles, {result.chunks} chunks ({change})")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


def cmd_stats(engine, ns: str, args) -> int:
    stats = engine.stats(ns)
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(shown(render_stats(stats)))
    return 0


def render_stats(stats: Stats) -> str:
    """`newsbot stats` as a person reads it (the same fields as --json)."""
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(stats.languages.items(), key=lambda kv: -kv[1])) or "none"
    rows = [
        ("namespace", stats.namespace),
        ("articles", f"{stats.articles:,}" + (f" of at most {stats.max_articles:,}" if stats.max_articles else "")),
        ("chunks", f"{stats.chunks:,}"),
        ("languages", langs),
        ("embedding model", stats.embedding_model),
        ("store", stats.store),
        ("data directory", stats.data_dir),
        ("disk used", human_bytes(stats.disk_bytes) if stats.disk_bytes is not None else "unknown"),
        ("embedding cache", f"{stats.embedding_cache_entries:,} vectors"),
        ("retrieval mode", stats.retrieval_mode),
    ]
    lines = [f"{name:<16} {value}" for name, value in rows]
    if stats.last_added:
        lines.append("last added")
        lines += [f"  {a['added_at'][:16].replace('T', ' ')}  {a['id']}  {a['title']}" for a in stats.last_added]
    return "\n".join(lines)
