"""Rebuild a namespace with the current embedding model from the article texts it stores.

Atomic: the new index is built beside the old one (collections named `….next`), and only when it
is complete do the names swap (Chroma renames in place); until then the old index answers, and a
reindex cut short leaves the old one as it was (the next reindex starts its copy again).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from .chunking import chunk_text
from .embedding import Embedder
from .lexical import LexicalIndex
from .records import Article, Chunk
from .settings import Settings
from .store import NamespaceStore

NEXT, OLD = ".next", ".old"
BATCH = 64
log = logging.getLogger("newsbot.engine")


@dataclass(frozen=True)
class Reindexed:
    namespace: str
    articles: int
    chunks: int
    model_before: str
    model_after: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def reindex(client, namespace: str, settings: Settings, embedder: Embedder, lexical: LexicalIndex,
            progress: Callable[[int, int], None] | None = None) -> Reindexed:
    """`progress(done, total)` after each article."""
    _recover(client, namespace, embedder)
    live = NamespaceStore(client, namespace, embedder.model_id, create=False, check_model=False)
    if not live.exists:
        raise_missing(namespace)
    before = live.built_with
    leftover = NamespaceStore(client, namespace, embedder.model_id, create=False, suffix=NEXT, check_model=False)
    if leftover.exists:
        leftover.drop()  # a reindex cut short: start its copy again
    fresh = NamespaceStore(client, namespace, embedder.model_id, create=True, accepted_ids=embedder.accepted_ids,
                           suffix=NEXT)
    total = live.count_articles()
    articles = chunks = 0
    batch: list[tuple[Article, list[Chunk]]] = []

    def flush() -> None:
        texts = [c.text for _, cs in batch for c in cs]
        vectors = embedder.embed_passages(texts) if texts else None
        items, offset = [], 0
        for article, cs in batch:
            items.append((article, cs, vectors[offset: offset + len(cs)]))
            offset += len(cs)
        if items:
            fresh.write_articles(items, replacing=set())
        batch.clear()

    for article in live.iter_articles():
        cs = chunk_text(article.id, article.text, settings.chunk_tokens, settings.chunk_overlap, embedder.tokenizer(),
                        id_prefix=f"{article.id}@{article.content_hash[:12]}")
        if not cs:
            continue
        batch.append((article, cs))
        articles += 1
        chunks += len(cs)
        if progress:
            progress(articles, total)
        if len(batch) >= BATCH:
            flush()
    flush()
    # The swap: three renames, old index first out of the way, then the new one in, then the old dropped.
    live.rename(OLD)
    fresh.rename("")
    live.drop()
    lexical.rebuild(namespace, fresh.iter_chunks())
    log.info("reindexed %r: %d articles, %d chunks, %s -> %s", namespace, articles, chunks, before, embedder.model_id)
    return Reindexed(namespace, articles, chunks, before, embedder.model_id)


def _recover(client, namespace: str, embedder: Embedder) -> None:
    """A swap cut between its renames leaves `.old` (and maybe no live copy): put the old one back
    if the live name is free, else drop it (the live copy is the new, complete one)."""
    old = NamespaceStore(client, namespace, embedder.model_id, create=False, suffix=OLD, check_model=False)
    if not old.exists:
        return
    live = NamespaceStore(client, namespace, embedder.model_id, create=False, check_model=False)
    if live.exists:
        old.drop()
    else:
        nxt = NamespaceStore(client, namespace, embedder.model_id, create=False, suffix=NEXT, check_model=False)
        (nxt if nxt.exists else old).rename("")
        if nxt.exists:
            old.drop()


def raise_missing(namespace: str):
    from .errors import NotFoundError

    raise NotFoundError(f"no namespace {namespace!r} in this store (see `newsbot stats` or `newsbot export --all`)")
