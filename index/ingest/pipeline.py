"""Adding articles: prepare (finish, hash, id, chunk), group, embed, write (journal, Chroma, then
the lexical index), and keeping the lexical index in line with Chroma.

Chroma is the system of record. Each article is written atomically (its chunks, then its record),
under a journal that lets the next open sweep whatever a crash cut short.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from newsbot.index.embedding.embedder import Embedder
from newsbot.index.errors import NewsbotError
from newsbot.index.records import AddError, AddResult, Article, Chunk
from newsbot.index.settings import Settings
from newsbot.index.sources.draft import Draft, finish
from newsbot.index.storage.failures import is_store_failure, storage_failure
from newsbot.index.storage.journal import journal_path, read_journal, stale_journals, write_journal
from newsbot.index.storage.lexical import LexicalIndex, LexicalReset
from newsbot.index.storage.store import WRITTEN, NamespaceStore, chunk_metadata
from newsbot.index.text.chunking import chunk_text
from newsbot.index.text.language import detect_language
from newsbot.index.text.words import content_hash

# Articles embedded and written together: each group is two Chroma upserts of ~20 ms whatever their size,
# so short articles go 64 at a time (1,921 one-sentence articles: 11.3 -> 7.8 s), long ones until
# GROUP_CHARS (about 2 s of embedding), so that progress and a crash's loss stay small.
GROUP = 64
GROUP_CHARS = 60_000
log = logging.getLogger("newsbot.engine")

Prepared = tuple[Article, list[Chunk]]


def article_id_for(draft: Draft, digest: str) -> str:
    """Stable id: the one given, else from the URL, else from the content hash."""
    if draft.id:
        return draft.id
    if draft.url:
        return "u" + hashlib.sha256(draft.url.strip().encode("utf-8")).hexdigest()[:12]
    return "h" + digest[:12]


def unique_id_runs(items: list) -> list[list]:
    """Split items into consecutive runs in which no article id repeats (two versions of
    one URL in a batch are written one after the other)."""
    runs: list[list] = [[]]
    for item in items:
        if any(item[0].id == other[0].id for other in runs[-1]):
            runs.append([])
        runs[-1].append(item)
    return [r for r in runs if r]


def groups(drafts: Iterable[Draft | AddError]) -> Iterable[list[Draft | AddError]]:
    """Consecutive groups of at most GROUP drafts or about GROUP_CHARS characters."""
    group: list[Draft | AddError] = []
    size = 0
    for draft in drafts:
        group.append(draft)
        size += len(draft.text or "") if isinstance(draft, Draft) else 0
        if len(group) >= GROUP or size >= GROUP_CHARS:
            yield group
            group, size = [], 0
    if group:
        yield group


class _Batch:
    """Which id holds which content within one group being added, so that duplicates inside a
    group resolve exactly as if the drafts were added one after another: a later version of an
    id replaces the earlier one, and only the content an id holds last counts as already indexed."""

    def __init__(self) -> None:
        self.by_digest: dict[str, str] = {}  # content hash -> the id that holds it now
        self.by_id: dict[str, str] = {}  # id -> the content hash it holds now

    def holder_of(self, digest: str, st: NamespaceStore) -> str | None:
        if digest in self.by_digest:
            return self.by_digest[digest]
        stored = st.find_by_hash(digest)
        return None if stored in self.by_id else stored  # an id this group rewrites no longer holds it

    def hold(self, article_id: str, digest: str) -> None:
        previous = self.by_id.get(article_id)
        if previous is not None and self.by_digest.get(previous) == article_id:
            del self.by_digest[previous]
        self.by_id[article_id] = digest
        self.by_digest[digest] = article_id


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def catch_up(lexical: LexicalIndex, st: NamespaceStore) -> tuple[int, int]:
    """Bring a lexical index in line with a Chroma server that other processes write to: add the chunks
    written since it last looked (by their write time), drop the old chunks of articles among them that were
    replaced, and only where the counts still differ (a removal, chunks from before write times were kept)
    compare ids. A question's sync is then one filtered query that usually returns nothing, not a page
    through every chunk (at 100k chunks, after 100 new articles: benchmarks/bench_sync.py).
    Returns (rows added, rows removed)."""
    ns = st.namespace
    since = lexical.mark(ns)
    newest, fresh = since, []
    for row in st.chunks_written_since(since):
        fresh.append(row)
        newest = max(newest, int(row[2].get(WRITTEN, 0)))
    removed: set[str] = set()
    if fresh:
        lexical.add(ns, fresh)  # a chunk it holds already is replaced, not doubled
        touched = sorted({meta.get("article_id", "") for _, _, meta in fresh})
        removed = lexical.chunk_ids(ns, touched) - st.chunk_ids(touched)  # earlier versions of replaced articles
        lexical.remove_chunks(ns, sorted(removed))
    if newest != since:
        lexical.set_mark(ns, newest)
    lexical.forget_count(ns)
    added = len(fresh)
    if lexical.count(ns) != st.count_chunks():
        stored, held = st.chunk_ids(), lexical.chunk_ids(ns)
        gone, missing = held - stored, sorted(stored - held)
        lexical.remove_chunks(ns, sorted(gone))
        lexical.add(ns, list(st.chunks_by_id(missing)))
        removed |= gone
        added += len(missing)
    return added, len(removed)


class Ingest:
    """Every write to a namespace (add, remove, the sweep at first use) goes through here, under
    one lock, so Chroma and the lexical index change together."""

    def __init__(self, settings: Settings, embedder: Embedder, lexical: LexicalIndex) -> None:
        self.settings = settings
        self.embedder = embedder
        self.lexical = lexical
        self.lock = threading.RLock()
        self._synced: set[str] = set()

    def forget_sync(self, namespace: str | None = None) -> None:
        """Check the lexical index against Chroma again at the next use (of one namespace, or all)."""
        if namespace is None:
            self._synced.clear()
        else:
            self._synced.discard(namespace)

    # ------------------------------------------------------------ keeping in line

    def sync(self, st: NamespaceStore) -> None:
        """Bring the derived lexical index in line with Chroma (at first use; always in server mode),
        after sweeping what an interrupted write left (its journal says what)."""
        if st.namespace in self._synced and not self.settings.server_mode:
            return
        with self.lock:
            for journal in stale_journals(Path(self.settings.data_dir), st.namespace):
                pending = read_journal(journal)
                if pending is None:  # unreadable: sweep the whole namespace instead (O(index), and rare)
                    log.warning("write journal %s is unreadable; checking every chunk of %r for orphans",
                                journal, st.namespace)
                    removed = st.sweep_all_orphans()
                else:
                    removed = st.sweep_orphans(pending)
                self.lexical.remove_chunks(st.namespace, removed)
                journal.unlink(missing_ok=True)
            if self.settings.server_mode:
                catch_up(self.lexical, st)
            elif self.lexical.count(st.namespace) != st.count_chunks():
                self.lexical.rebuild(st.namespace, st.iter_chunks())
            self._synced.add(st.namespace)

    # ------------------------------------------------------------ adding

    def add(self, st: NamespaceStore, drafts: Iterable[Draft | AddError],
            on_result: Callable[[AddResult | AddError], None] | None = None) -> list[AddResult | AddError]:
        results: list[AddResult | AddError] = []
        for group in groups(drafts):
            for r in self._add_group(st, group):
                results.append(r)
                if on_result:
                    on_result(r)
        return results

    def prepare(self, st: NamespaceStore, draft: Draft, batch: _Batch) -> Prepared | AddResult:
        """The article and its chunks, or the duplicate it is of."""
        draft = finish(draft, self.settings.max_article_chars)
        digest = content_hash(draft.text)
        article = Article(
            id=article_id_for(draft, digest),
            title=draft.title,
            text=draft.text,
            url=draft.url,
            source=draft.source,
            published_at=draft.published_at,
            lang=draft.lang or detect_language(draft.text),
            added_at=_now(),
            content_hash=digest,
        )
        existing = batch.holder_of(digest, st)
        if existing:
            old = st.get_articles([existing]).get(existing, replace(article, id=existing))
            return AddResult("duplicate", old, old.chunks)
        chunks = chunk_text(
            article.id,
            article.text,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap,
            self.embedder.tokenizer(),
            id_prefix=f"{article.id}@{digest[:12]}",
        )
        batch.hold(article.id, digest)
        return article, chunks

    def _add_group(self, st: NamespaceStore, group: list[Draft | AddError]) -> list[AddResult | AddError]:
        out: list[AddResult | AddError | Prepared] = []
        batch = _Batch()
        with self.lock:
            for item in group:
                if isinstance(item, AddError):
                    out.append(item)
                    continue
                origin = item.origin or item.url or item.title
                try:
                    out.append(self.prepare(st, item, batch))
                except NewsbotError as exc:
                    out.append(AddError(origin, str(exc)))
                except Exception as exc:  # one bad draft is its own error; the rest of the group goes on
                    if storage_failure(exc, Path(self.settings.data_dir)) or is_store_failure(exc):
                        raise
                    log.debug("preparing %s failed", origin, exc_info=True)
                    out.append(AddError(origin, f"cannot index it ({exc.__class__.__name__}: {str(exc)[:200]})"))
            out = self._within_cap(st, out)
            pending = [o for o in out if isinstance(o, tuple)]
            texts = [c.text for _, chunks in pending for c in chunks]
            vectors = self.embedder.embed_passages(texts) if texts else np.zeros((0, 0), np.float32)
            items, offset = [], 0
            for article, chunks in pending:
                items.append((article, chunks, vectors[offset : offset + len(chunks)]))
                offset += len(chunks)
            statuses = self.write_embedded(st, items)
        written = iter(zip(items, statuses))
        final: list[AddResult | AddError] = []
        for o in out:
            if isinstance(o, tuple):
                (article, chunks, _), status = next(written)
                final.append(AddResult(status, replace(article, chunks=len(chunks)), len(chunks)))
            else:
                final.append(o)
        return final

    def _within_cap(self, st: NamespaceStore, out: list) -> list:
        """New articles past NEWSBOT_MAX_ARTICLES become errors (replacing an article is always allowed)."""
        cap = self.settings.max_articles
        new = [o for o in out if isinstance(o, tuple)]
        if not cap or not new:
            return out
        existing = set(st.get_articles([a.id for a, _ in new]))
        room = cap - st.count_articles()
        kept = []
        for o in out:
            if isinstance(o, tuple) and o[0].id not in existing:
                if room <= 0:
                    o = AddError(o[0].url or o[0].title, f"namespace {st.namespace!r} is full: it holds the maximum of "
                                                         f"{cap} "
                                 "articles (NEWSBOT_MAX_ARTICLES); remove some first")
                else:
                    room -= 1
                    existing.add(o[0].id)
            kept.append(o)
        return kept

    def write_embedded(self, st: NamespaceStore, items: list[tuple[Article, list[Chunk], np.ndarray]]) -> list[str]:
        """Write articles whose chunks and vectors are made, atomically per article; their statuses
        ("added" or "replaced"). The benchmarks' synthetic corpus writes through here too."""
        with self.lock:
            return [s for run in unique_id_runs(items) for s in self._write(st, run)]

    def _write(self, st: NamespaceStore, items: list[tuple[Article, list[Chunk], np.ndarray]]) -> list[str]:
        """Write articles with distinct ids to Chroma, then to the lexical index; their statuses."""
        existing = set(st.get_articles([a.id for a, _, _ in items]))
        journal = journal_path(Path(self.settings.data_dir), st.namespace)
        write_journal(journal, [(a.id, a.content_hash) for a, _, _ in items])
        st.write_articles(items, replacing=existing)
        try:
            for article in (a for a, _, _ in items if a.id in existing):
                self.lexical.remove_article(st.namespace, article.id)
            self.lexical.add(st.namespace,
                             [(c.id, c.text, chunk_metadata(a, c)) for a, chunks, _ in items for c in chunks])
        except LexicalReset:  # Chroma holds the write; the lexical index is rebuilt from it at the next sync
            self._synced.discard(st.namespace)
        journal.unlink()
        return ["replaced" if a.id in existing else "added" for a, _, _ in items]

    # ------------------------------------------------------------ removing

    def remove(self, st: NamespaceStore, article_id: str) -> Article:
        with self.lock:
            article = st.delete_article(article_id)
            try:
                self.lexical.remove_article(st.namespace, article_id)
            except LexicalReset:
                self._synced.discard(st.namespace)
        return article
