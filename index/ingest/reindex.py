"""Rebuild a namespace with the current embedding model from the article texts it stores.

Crash-safe at every step. The new index is built beside the old one (collections named `….next`);
until it is complete the old index answers, and a reindex cut short leaves the old one as it was
(the next reindex starts its copy again). When the copy is complete it is marked so (in its
articles collection's metadata), and only then does the swap begin: six steps of one collection
each (live → `.old`, `.next` → live, for the chunks then the articles; then the `.old` ones are
dropped). A swap cut between any two steps is finished forward the next time any newsbot opens
the store (`finish_swaps`, at Engine open), before anything can create an empty live collection
in the gap: the marked copy is complete, so going forward loses nothing.

A full disk must not stand between a user and a read. A copy whose build fails is dropped at once (its
space is the first thing a full disk needs back). A swap that cannot be finished (finishing writes)
is left as it is and the store is read as it stands: for each kind, the live collection, else the
complete `.next` copy (`NamespaceStore`), so questions are answered from complete collections in
every state a swap can be cut in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from newsbot.index.embedding.embedder import Embedder
from newsbot.index.errors import StorageError
from newsbot.index.records import Article, Chunk
from newsbot.index.settings import Settings
from newsbot.index.storage.failures import LOW_DISK_BYTES, free_bytes
from newsbot.index.storage.lexical import LexicalIndex
from newsbot.index.storage.store import COMPLETE, NEXT, NamespaceStore, collection_name
from newsbot.index.text.chunking import chunk_text

OLD = ".old"
KINDS = ("chunks", "articles")  # the swap moves the chunks first, so `.next` articles outlive `.next` chunks
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
    finish_swap(client, namespace)
    live = NamespaceStore(client, namespace, embedder.model_id, create=False, check_model=False)
    if not live.exists:
        raise_missing(namespace)
    before = live.built_with
    leftover = NamespaceStore(client, namespace, embedder.model_id, create=False, suffix=NEXT, check_model=False)
    if leftover.exists:
        leftover.drop()  # a reindex cut short: start its copy again
    if not settings.server_mode:
        check_room(Path(settings.data_dir), client, live)
    fresh = NamespaceStore(client, namespace, embedder.model_id, create=True, accepted_ids=embedder.accepted_ids,
                           suffix=NEXT)
    try:
        articles, chunks = _build_copy(live, fresh, settings, embedder, progress)
    except BaseException:
        _drop_quietly(fresh, namespace)
        raise
    fresh.mark(COMPLETE)
    _step("copy complete")
    finish_swap(client, namespace)
    _step("swapped")
    lexical.rebuild(namespace, NamespaceStore(client, namespace, embedder.model_id, create=False).iter_chunks())
    log.info("reindexed %r: %d articles, %d chunks, %s -> %s", namespace, articles, chunks, before, embedder.model_id)
    return Reindexed(namespace, articles, chunks, before, embedder.model_id)


ROOM_MARGIN = 1.25  # the copy's estimate is the live store's share of the disk; HNSW segments grow in steps


def check_room(data_dir: Path, client, live: NamespaceStore) -> None:
    """Refuse a reindex, before it writes, when the disk cannot hold its copy beside the live index: the
    copy takes about the namespace's share of the store again, and a copy that fills the disk leaves
    every other write (adds, feeds, the swap itself) failing until space is freed."""
    chroma = data_dir / "chroma"
    if not chroma.is_dir():
        return
    stored = sum(p.stat().st_size for p in chroma.rglob("*") if p.is_file())
    counts = [c.count() for c in client.list_collections() if c.name.endswith("-chunks")]
    share = live.count_chunks() / max(1, sum(counts))
    needed = int(stored * share * ROOM_MARGIN) + LOW_DISK_BYTES
    free = free_bytes(data_dir)
    if free < needed:
        raise StorageError(
            f"not enough room to reindex namespace {live.namespace!r}: its new copy is built beside the index and "
            f"needs about {needed / 1e6:,.0f} MB free in {data_dir}, where {free / 1e6:,.0f} MB is free. Nothing "
            "was changed; free some space (or move the data directory to a larger disk), then reindex again")


def _drop_quietly(fresh: NamespaceStore, namespace: str) -> None:
    """Drop a copy whose build failed; where even that fails (a full disk), the next reindex drops it."""
    try:
        fresh.drop()
    except Exception:  # noqa: BLE001 - the build's own error is the one to report
        log.warning("namespace %r: the partial reindex copy could not be dropped now; the next reindex drops it",
                    namespace, exc_info=True)


def _build_copy(live: NamespaceStore, fresh: NamespaceStore, settings: Settings, embedder: Embedder,
                progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """Every live article chunked and embedded into `fresh`: (articles, chunks) written."""
    total = live.count_articles()
    articles = chunks = 0
    batch: list[tuple[Article, list[Chunk]]] = []

    def flush() -> None:
        texts = [c.text for _, cs in batch for c in cs]
        vectors = embedder.embed_passages(texts) if texts else np.zeros((0, 0), np.float32)
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
    return articles, chunks


def _step(name: str) -> None:
    """A point between two writes of a reindex (the crash tests stop the process here)."""


def finish_swaps(client, on_failure: Callable[[str, Exception], None] | None = None) -> list[str]:
    """Finish every swap a crash cut short (the namespaces it finished). One listing of the
    collections; cheap enough for every open. With `on_failure`, a swap that cannot be finished now (a
    full disk) is reported to it and left for a later open; the store reads as it stands meanwhile."""
    names = _names(client)
    suffix = f"-articles{NEXT}"
    started = {n[len("nb-"):-len(suffix)] for n in names if n.startswith("nb-") and n.endswith(suffix)}
    started |= {n[len("nb-"):].rsplit("-", 1)[0] for n in names if n.startswith("nb-") and n.endswith(OLD)}
    done = []
    for ns in sorted(started):
        try:
            if finish_swap(client, ns, names):
                done.append(ns)
        except Exception as exc:
            if on_failure is None:
                raise
            on_failure(ns, exc)
    return done


def finish_swap(client, namespace: str, names: set[str] | None = None) -> bool:
    """Move a complete `.next` copy into place, step by step, from wherever a crash left it;
    whether there was a swap to finish. An incomplete `.next` (a build cut short) is left for the
    next reindex to drop: it may be another process's reindex still building."""
    names = _names(client) if names is None else names
    live, nxt, old = ({k: collection_name(namespace, k, suffix) for k in KINDS} for suffix in ("", NEXT, OLD))
    complete = nxt["articles"] in names and bool((client.get_collection(nxt["articles"]).metadata or {}).get(COMPLETE))
    if not complete and not any(old[k] in names for k in KINDS):
        return False
    for kind in KINDS:
        if nxt[kind] in names:  # the new copy of this kind is not in place yet: whatever holds the live name is old
            if live[kind] in names:
                if old[kind] in names:
                    client.delete_collection(old[kind])
                client.get_collection(live[kind]).modify(name=old[kind])
                names = (names - {live[kind]}) | {old[kind]}
                _step(f"{kind} live to {OLD}")
            client.get_collection(nxt[kind]).modify(name=live[kind])
            names = (names - {nxt[kind]}) | {live[kind]}
            _step(f"{kind} {NEXT} to live")
        elif live[kind] not in names and old[kind] in names:  # no new copy and no live one: the old goes back
            client.get_collection(old[kind]).modify(name=live[kind])
            names = (names - {old[kind]}) | {live[kind]}
    for kind in KINDS:
        if old[kind] in names:
            client.delete_collection(old[kind])
            names = names - {old[kind]}
            _step(f"{kind} {OLD} dropped")
    log.info("namespace %r: finished swapping in its reindexed copy", namespace)
    return True


def _names(client) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def raise_missing(namespace: str):
    from newsbot.index.errors import NotFoundError

    raise NotFoundError(f"no namespace {namespace!r} in this store (see `newsbot stats` or `newsbot export --all`)")
