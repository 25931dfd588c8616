"""The engine API that the CLI, the Discord bot and the eval script all use.

    engine = Engine.open(Settings.load())
    engine.add([Draft(text=..., title=...)], namespace="default")
    answer = engine.ask("What did Zelenskyy say about the minerals deal?")

A facade: opening and closing (the data directory's lock, the embedder, Chroma, the lexical
index) is here; adding is `ingest.py`, answering `asking.py`, turning sources into drafts
`drafting.py`, and storage failures `storage_failures.py`. One `Engine` per process. In embedded
mode it holds a lock on the data directory for its lifetime: Chroma's embedded store is not
process-safe.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

from filelock import FileLock

from newsbot.index.answering.asking import Asker
from newsbot.index.api import AskRequest, ask_request
from newsbot.index.embedding.cache import EmbeddingCache
from newsbot.index.embedding.embedder import Embedder
from newsbot.index.embedding.providers import build_embedding, load_in_background
from newsbot.index.errors import NewsbotError, NotFoundError
from newsbot.index.ingest.pipeline import Ingest
from newsbot.index.ingest.reindex import Reindexed, finish_swaps, raise_missing, reindex
from newsbot.index.records import AddError, AddResult, Answer, Article, Stats
from newsbot.index.settings import Settings
from newsbot.index.sources import drafting
from newsbot.index.sources.draft import Draft
from newsbot.index.storage import audit
from newsbot.index.storage import data_dir as data_dir_files
from newsbot.index.storage.data_lock import lock_data_dir
from newsbot.index.storage.failures import damaged_store, is_panic, panic_error, storage_failure, store_guard
from newsbot.index.storage.lexical import LexicalIndex
from newsbot.index.storage.store import NamespaceStore, check_namespace, list_namespaces, open_client

__all__ = ["Engine"]
log = logging.getLogger("newsbot.engine")


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock: FileLock | None = None
        self._loading: threading.Thread | None = None
        self._stores_lock = threading.Lock()
        self._stores: dict[str, NamespaceStore] = {}
        data_dir = Path(settings.data_dir)
        try:
            data_dir_files.prepare(data_dir)  # newsbot's own folder (a foreign one is refused), private: 0700
            if not settings.server_mode:
                self._lock = lock_data_dir(data_dir)
            self._loading = load_in_background(settings)  # the model loads while Chroma is imported
            self.client = open_client(data_dir, settings.chroma_host, settings.chroma_port,
                                      cached_indexes=2 * settings.open_namespaces)
            self.embedder = Embedder(build_embedding(settings),
                                     EmbeddingCache(Path(settings.cache_dir or data_dir) / "embeddings.sqlite"))
            # a reindex cut mid-swap is finished before anything can write; where it cannot be (a full disk), the
            # store is read as it stands (the complete copy) and the swap is finished at a later open
            finish_swaps(self.client, on_failure=self._swap_postponed)
            lex_name = (
                f"lexical-{settings.chroma_host}-{settings.chroma_port}.sqlite" if settings.server_mode
                else "lexical.sqlite"
            )
            self.lexical = LexicalIndex(data_dir / lex_name)
        except NewsbotError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            storage = storage_failure(exc, data_dir)
            if storage is not None:
                raise storage from None
            if isinstance(exc, (OSError, sqlite3.Error)):
                raise NewsbotError(f"cannot open the data directory {data_dir}: {exc}") from None
            damaged = damaged_store(exc, settings)
            if damaged:
                raise damaged from None
            raise
        except BaseException as exc:
            self.close()
            if is_panic(exc):  # Chroma's Rust core, on a damaged store
                raise panic_error(exc, settings) from None
            raise
        self.ingest = Ingest(settings, self.embedder, self.lexical)
        self.asker = Asker(settings, self.embedder, self.lexical)

    def _swap_postponed(self, namespace: str, exc: Exception) -> None:
        why = storage_failure(exc, Path(self.settings.data_dir)) or exc
        log.warning("namespace %r: a reindex's last steps could not be finished now (%s); questions are answered from "
                    "its complete copy, and the next start finishes it", namespace, why)

    @classmethod
    def open(cls, settings: Settings | None = None) -> "Engine":
        return cls(settings or Settings.load())

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release everything, Chroma's client included, before the lock: the next process to open
        the index must not find this one still connected to the store."""
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client.close()
            except Exception:  # closing must not mask the error that brought us here
                pass
            self.client = None
            self._stores = {}
        lexical = getattr(self, "lexical", None)
        if lexical is not None:
            lexical.close()
        embedder = getattr(self, "embedder", None)
        if embedder is not None and embedder.cache is not None:
            embedder.cache.close()
        if self._loading is not None:  # an engine that failed to open: its model load ends before the process may
            self._loading.join()
            self._loading = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def forget_sync(self) -> None:
        """Check every namespace's lexical index against Chroma at its next use (store_guard calls this)."""
        self.ingest.forget_sync()

    # ------------------------------------------------------------ namespaces

    def store(self, namespace: str | None = None, create: bool = True) -> NamespaceStore:
        """The namespace's store, its lexical index in line with it."""
        ns = check_namespace(namespace or self.settings.namespace)
        st = self._stores.get(ns)
        if st is None or (create and not st.exists):
            with self._stores_lock:  # two first adds to a new namespace create its collections once
                st = self._stores.get(ns)
                if st is None or (create and not st.exists):
                    st = NamespaceStore(self.client, ns, self.embedder.model_id, create=create,
                                        accepted_ids=self.embedder.accepted_ids)
                    if not st.exists:
                        return st
                    self._stores[ns] = st
        self.ingest.sync(st)
        return st

    # ------------------------------------------------------------ drafts

    def drafts_from_sources(self, sources: list[str], overrides: dict | None = None) -> Iterator[Draft | AddError]:
        """Drafts from URLs, files, directories and '-' (stdin), in order; errors are yielded, not raised."""
        return drafting.from_sources(sources, self.settings, overrides)

    def draft_from_url(self, url: str) -> Draft | AddError:
        """A page from an http(s) URL and nothing else: for untrusted input (a Discord member's /add)."""
        return drafting.from_url(url, self.settings)

    def draft_from_upload(self, data: bytes, name: str, title: str = "") -> Draft | AddError:
        """A draft from uploaded bytes (a Discord attachment or pasted text), judged by content."""
        return drafting.from_upload(data, name, title, self.settings.max_article_chars)

    def drafts_from_jsonl(self, path: str) -> Iterator[Draft | AddError]:
        """Each line is its own draft or error: a bad line never hides the lines after it."""
        return drafting.from_jsonl(path, self.settings.max_article_chars)

    # ------------------------------------------------------------ the five verbs

    @store_guard
    def add(
        self,
        drafts: Iterable[Draft | AddError],
        namespace: str | None = None,
        on_result: Callable[[AddResult | AddError], None] | None = None,
        actor: str = "",
    ) -> list[AddResult | AddError]:
        """Index drafts: duplicates are reported, not re-embedded; a changed URL replaces its article.

        Each article is written atomically (its chunks, then its record). Errors in
        one draft are reported and do not stop the others. With an `actor` (who asked: "cli:alice",
        "discord:1234"), every result is also an audit entry.
        """
        st = self.store(namespace)
        report = on_result
        if actor:
            def report(result: AddResult | AddError) -> None:
                self._audit(st.namespace, actor, result)
                if on_result:
                    on_result(result)
        try:
            return self.ingest.add(st, drafts, report)
        finally:
            self.asker.forget(st.namespace)  # new articles may make an archive live again

    def _audit(self, namespace: str, actor: str, result: AddResult | AddError) -> None:
        if isinstance(result, AddError):
            audit.record(self.settings.data_dir, namespace, actor, "add", status="error", origin=result.origin,
                         error=result.message[:300])
        else:
            audit.record(self.settings.data_dir, namespace, actor, "add", status=result.status,
                         article_id=result.article.id, title=result.article.title, url=result.article.url)

    @store_guard
    def ask(self, question: str | AskRequest, **options) -> Answer:
        """Answer `question` from the namespace's articles, with verified citations: a question and
        the options of `api.AskRequest` (k, filters, mode, retrieval, context, context_articles, llm,
        answer_lang, today, reader), or one AskRequest."""
        request = ask_request(question, options)
        return self.asker.ask(self.store(request.namespace, create=False), request)

    @store_guard
    def sources(self, namespace: str | None = None) -> list[Article]:
        st = self.store(namespace, create=False)
        return sorted(st.list_articles(), key=lambda a: (a.published_at or "", a.added_at), reverse=True)

    @store_guard
    def article(self, article_id: str, namespace: str | None = None) -> Article:
        st = self.store(namespace, create=False)
        if not st.exists:
            self._missing(article_id, namespace)
        return st.get_article(article_id)

    @store_guard
    def remove(self, article_id: str, namespace: str | None = None, actor: str = "") -> Article:
        st = self.store(namespace, create=False)
        if not st.exists:
            self._missing(article_id, namespace)
        article = self.ingest.remove(st, article_id)
        self.asker.forget(st.namespace)
        if actor:
            audit.record(self.settings.data_dir, st.namespace, actor, "remove", article_id=article.id,
                         title=article.title, url=article.url)
        return article

    @store_guard
    def export(self, namespace: str | None = None) -> Iterator[Article]:
        """Every article of the namespace with its text, whatever model indexed it (for backups and
        upgrades: `newsbot export` writes them in the JSONL format `newsbot import` reads)."""
        ns = check_namespace(namespace or self.settings.namespace)
        st = NamespaceStore(self.client, ns, self.embedder.model_id, create=False, check_model=False)
        if not st.exists:
            raise_missing(ns)
        return st.iter_articles()

    @store_guard
    def namespaces(self) -> list[str]:
        return list_namespaces(self.client)

    @store_guard
    def reindex(self, namespace: str | None = None, progress: Callable[[int, int], None] | None = None) -> Reindexed:
        """Rebuild the namespace with the current model from its stored texts; the old index serves
        until the new one is complete (see reindex.py)."""
        ns = check_namespace(namespace or self.settings.namespace)
        with self.ingest.lock:
            with self._stores_lock:
                self._stores.pop(ns, None)
            try:
                return reindex(self.client, ns, self.settings, self.embedder, self.lexical, progress)
            finally:
                with self._stores_lock:
                    self._stores.pop(ns, None)
                self.ingest.forget_sync(ns)
                self.asker.forget(ns)

    @store_guard
    def preference(self, name: str, namespace: str | None = None) -> str:
        """A per-namespace setting (the bot keeps each server's chosen language here); "" when unset."""
        st = self.store(namespace, create=False)
        return st.preference(name) if st.exists else ""

    @store_guard
    def set_preference(self, name: str, value: str, namespace: str | None = None, actor: str = "") -> None:
        st = self.store(namespace)
        st.set_preference(name, value)
        if actor:
            audit.record(self.settings.data_dir, st.namespace, actor, "set", setting=name, value=value or "(default)")

    def _missing(self, article_id: str, namespace: str | None):
        raise NotFoundError(f"no article with id {article_id!r} in namespace {namespace or self.settings.namespace!r}")

    @store_guard
    def stats(self, namespace: str | None = None) -> Stats:
        st = self.store(namespace, create=False)
        articles = st.list_articles() if st.exists else []
        langs: dict[str, int] = {}
        for a in articles:
            langs[a.lang or "?"] = langs.get(a.lang or "?", 0) + 1
        latest = sorted(articles, key=lambda a: a.added_at, reverse=True)[:5]
        return Stats(
            namespace=st.namespace,
            articles=len(articles),
            max_articles=self.settings.max_articles,
            chunks=st.count_chunks(),
            languages=langs,
            embedding_model=self.embedder.model_id,
            store=f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
            if self.settings.server_mode
            else f"embedded ({Path(self.settings.data_dir) / 'chroma'})",
            data_dir=str(self.settings.data_dir),
            embedding_cache_entries=self.embedder.cache.count() if self.embedder.cache else 0,
            retrieval_mode=self.settings.retrieval_mode,
            disk_bytes=None if self.settings.server_mode else directory_bytes(Path(self.settings.data_dir)),
            last_added=tuple({"id": a.id, "title": a.title, "added_at": a.added_at} for a in latest),
        )


def directory_bytes(path: Path) -> int:
    """Bytes the data directory takes on disk (the whole store: all namespaces share its files)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
