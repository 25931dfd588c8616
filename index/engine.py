"""The engine API that the CLI, the Discord bot and the eval script all use.

    engine = Engine.open(Settings.load())
    engine.add([Draft(text=..., title=...)], namespace="default")
    answer = engine.ask("What did Zelenskyy say about the minerals deal?")

One `Engine` per process. In embedded mode it holds a lock on the data directory
for its lifetime: Chroma's embedded store is not process-safe.
"""
from __future__ import annotations

import errno
import functools
import json
import logging
import os
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from filelock import FileLock, Timeout

from . import answer as answering
from . import answerability
from .chunking import chunk_text
from .embedding import Embedder, EmbeddingCache, build_embedding
from .errors import (ConfigError, IndexBusyError, InputError, LLMUnavailableError, NewsbotError, NotFoundError,
                     StorageError, StoreUnavailableError)
from .fetch import fetch_url, is_url
from .language import detect_language
from .lexical import LexicalIndex, LexicalReset
from .loaders import Draft, finish, iter_directory, iter_jsonl, read_file, draft_from_bytes
from .records import AddResult, Answer, Article, Chunk, Passage
from .retrieval import RetrievalConfig, idf_weights, retrieve
from .settings import Settings
from .sqlite_files import damaged_store_file
from .store import Filters, NamespaceStore, check_namespace, chunk_metadata, open_client
from .text import content_hash, key_names, lexical_terms, looks_like_question, sentence_spans

# Articles embedded and written together: each group is two Chroma upserts of ~20 ms whatever their size,
# so short articles go 64 at a time (1,921 one-sentence articles: 11.3 -> 7.8 s), long ones until
# GROUP_CHARS (about 2 s of embedding), so that progress and a crash's loss stay small.
GROUP = 64
GROUP_CHARS = 60_000
log = logging.getLogger("newsbot.engine")


@dataclass(frozen=True)
class AddError:
    """A source that could not be added, and why."""

    origin: str
    message: str

    def to_dict(self) -> dict:
        return {"status": "error", "origin": self.origin, "error": self.message}


def article_id_for(draft: Draft, digest: str) -> str:
    """Stable id: the one given, else from the URL, else from the content hash."""
    if draft.id:
        return draft.id
    import hashlib

    if draft.url:
        return "u" + hashlib.sha256(draft.url.strip().encode("utf-8")).hexdigest()[:12]
    return "h" + digest[:12]


def _unique_id_runs(items: list) -> list[list]:
    """Split items into consecutive runs in which no article id repeats (two versions of
    one URL in a batch are written one after the other)."""
    runs: list[list] = [[]]
    for item in items:
        if any(item[0].id == other[0].id for other in runs[-1]):
            runs.append([])
        runs[-1].append(item)
    return [r for r in runs if r]


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


_FULL = ("disk is full", "no space left", "file too large", "quota exceeded")
_READ_ONLY = ("readonly database", "read-only file system", "read only file system", "permission denied",
              "unable to open database file")


LOW_DISK_BYTES = 4 << 20


def _free_bytes(path: Path) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize


def storage_failure(exc: BaseException, data_dir: Path) -> StorageError | None:
    """A clear error when `exc` (from sqlite, Chroma's Rust core or the OS) means the data
    directory is full or cannot be written; None for anything else."""
    errno_ = getattr(exc, "errno", None)
    text = str(exc).lower()
    storage_layer = isinstance(exc, (OSError, sqlite3.Error)) or (type(exc).__module__ or "").startswith("chromadb")
    if errno_ in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or any(s in text for s in _FULL):
        why = "the disk is full"
    elif errno_ in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        why = "it is read-only or not writable"
    elif storage_layer and _free_bytes(data_dir) < LOW_DISK_BYTES:
        why = "the disk is full"  # Chroma's Rust core words it as e.g. "Failed to apply logs to the metadata segment"
    elif storage_layer and data_dir.is_dir() and not os.access(data_dir, os.W_OK):
        why = "it is read-only or not writable"
    else:
        return None
    return StorageError(f"cannot write to the data directory {data_dir}: {why}. Nothing indexed before was lost; "
                        f"free some space or fix the permissions, then run the command again ({str(exc)[:120]})")


def _is_store_failure(exc: BaseException) -> bool:
    """A failure of the Chroma server or of the connection to it (not a bug of ours)."""
    module = type(exc).__module__ or ""
    return isinstance(exc, (ConnectionError, TimeoutError)) or module.split(".")[0] in {"chromadb", "httpx", "httpcore"}


def store_guard(method):
    """Storage failures as clear errors. In server mode, a Chroma server that is down or unreachable
    is a StoreUnavailableError; the next call tries again, so the bot recovers without a restart once
    the server is back. A damaged lexical index is started anew, rebuilt from Chroma, and the call
    retried once (every guarded method reaches the lexical index for writing only after Chroma's)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            try:
                return method(self, *args, **kwargs)
            except LexicalReset:
                self._synced.clear()
                return method(self, *args, **kwargs)
        except NewsbotError:
            raise
        except Exception as exc:
            storage = storage_failure(exc, Path(self.settings.data_dir))
            if storage is not None:
                raise storage from None
            if self.settings.server_mode and _is_store_failure(exc):
                self._synced.clear()
                raise StoreUnavailableError(
                    f"the vector store (Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port}) "
                    f"is unavailable; try again shortly ({exc.__class__.__name__})"
                ) from None
            damaged = self._damaged_store(exc)
            if damaged:
                raise damaged from None
            raise

    return wrapper


def _write_synced(path: Path, text: str) -> None:
    """Write and fsync, so the journal is on disk before the writes it describes."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


_HOST = socket.gethostname().replace("-", "_").replace(".", "_") or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_journal(path: Path) -> list[tuple[str, str]] | None:
    """The (article id, content hash) pairs a journal lists; None when it is torn or not a journal."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in rows):
        return None
    return [(a, h) for a, h in rows]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock: FileLock | None = None
        self._write_lock = threading.RLock()
        self._stores_lock = threading.Lock()
        data_dir = Path(settings.data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            if not settings.server_mode:
                self._acquire_lock(data_dir)
            self.embedder = Embedder(build_embedding(settings), EmbeddingCache(Path(settings.cache_dir or data_dir) / "embeddings.sqlite"))
            self.client = open_client(data_dir, settings.chroma_host, settings.chroma_port)
            lex_name = (
                f"lexical-{settings.chroma_host}-{settings.chroma_port}.sqlite" if settings.server_mode else "lexical.sqlite"
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
            damaged = self._damaged_store(exc)
            if damaged:
                raise damaged from None
            raise
        except BaseException:
            self.close()
            raise
        self._stores: dict[str, NamespaceStore] = {}
        self._synced: set[str] = set()
        self._chat = None  # the LLM client, built on first use
        self._nonempty: set[str] = set()  # namespaces seen with chunks (saves a count per question)

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
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _damaged_store(self, exc: BaseException) -> StorageError | None:
        """When `exc` came from the embedded Chroma store and its file fails SQLite's check, a clear
        error naming the file (it is the system of record: never discarded, unlike the derived
        lexical index and embedding cache)."""
        if self.settings.server_mode or not _is_store_failure(exc):
            return None
        path = Path(self.settings.data_dir) / "chroma" / "chroma.sqlite3"
        why = damaged_store_file(path)
        if why is None:
            return None
        return StorageError(
            f"the vector store file {path} is damaged ({why}). It holds your articles, so newsbot does not "
            f"repair it by discarding data: stop newsbot, restore the data directory {self.settings.data_dir} "
            f"from a backup, or move it away and add the articles again (newsbot add ...)."
        )

    def _acquire_lock(self, data_dir: Path) -> None:
        lock = FileLock(str(data_dir / "newsbot.lock"), timeout=0)
        owner = data_dir / "newsbot.lock.owner"
        try:
            lock.acquire()
        except Timeout:
            who = owner.read_text(encoding="utf-8").strip() if owner.exists() else "unknown"
            raise IndexBusyError(
                f"the index in {data_dir} is in use by another newsbot process ({who}). "
                "The embedded store allows one process at a time: stop that process, or run a Chroma "
                "server (`chroma run`) and set CHROMA_HOST/CHROMA_PORT so that several processes share one index."
            ) from None
        owner.write_text(f"pid {os.getpid()}: {' '.join(sys.argv[:3])}", encoding="utf-8")
        self._lock = lock

    # ------------------------------------------------------------ namespaces

    def store(self, namespace: str | None = None, create: bool = True) -> NamespaceStore:
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
        self._sync(st)
        return st

    def _sync(self, st: NamespaceStore) -> None:
        """Bring the derived lexical index in line with Chroma (at first use; always in server mode),
        after sweeping what an interrupted write left (its journal says what)."""
        if st.namespace in self._synced and not self.settings.server_mode:
            return
        with self._write_lock:
            for journal in self._stale_journals(st.namespace):
                pending = read_journal(journal)
                if pending is None:  # unreadable: sweep the whole namespace instead (O(index), and rare)
                    log.warning("write journal %s is unreadable; checking every chunk of %r for orphans",
                                journal, st.namespace)
                    removed = st.sweep_all_orphans()
                else:
                    removed = st.sweep_orphans(pending)
                self.lexical.remove_chunks(st.namespace, removed)
                journal.unlink(missing_ok=True)
            if self.lexical.count(st.namespace) != st.count_chunks():
                self.lexical.rebuild(st.namespace, st.iter_chunks())
            self._synced.add(st.namespace)

    def _journal(self, namespace: str) -> Path:
        """Lists the articles this process is writing; present only while a write is in progress
        (or was cut). Named by host and process, so that in server mode processes sharing a data
        directory never sweep each other's writes in progress."""
        return Path(self.settings.data_dir) / f"pending-{namespace}.{_HOST}-{os.getpid()}.json"

    def _stale_journals(self, namespace: str) -> list[Path]:
        """Journals of writes that can no longer finish: this process's own (we hold the write
        lock, so none of ours is in progress) and those of processes on this host that are gone."""
        data_dir = Path(self.settings.data_dir)
        stale = [p for p in [data_dir / f"pending-{namespace}.json"] if p.exists()]  # before journals were named
        for path in data_dir.glob(f"pending-{namespace}.*.json"):
            host, _, pid = path.name[len(f"pending-{namespace}."):-len(".json")].rpartition("-")
            if host == _HOST and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
                stale.append(path)
        return stale

    # ------------------------------------------------------------ adding

    def drafts_from_sources(self, sources: list[str], overrides: dict | None = None) -> Iterator[Draft | AddError]:
        """Drafts from URLs, files, directories and '-' (stdin), in order; errors are yielded, not raised."""
        overrides = {k: v for k, v in (overrides or {}).items() if v}
        for source in sources:
            path = Path(source)
            if source != "-" and not is_url(source) and path.is_dir():
                for file in iter_directory(path):
                    yield AddError(file.origin, str(file)) if isinstance(file, InputError) else self._load_one(str(file), overrides)
            else:
                yield self._load_one(source, overrides)

    def draft_from_url(self, url: str) -> Draft | AddError:
        """A page fetched from an http(s) URL, and nothing else: for untrusted input (a Discord
        member's /add), where a path, '-' or another scheme must never reach a file or stdin."""
        url = url.strip()
        if not is_url(url):
            return AddError(url[:200], f"{url[:200]!r} is not an http(s) URL; only links to web pages can be added this way")
        return self._load_one(url, {})

    def draft_from_upload(self, data: bytes, name: str, title: str = "") -> Draft | AddError:
        """A draft from uploaded bytes (a Discord attachment or pasted text), judged by content."""
        try:
            draft = draft_from_bytes(data, name)
            return replace(draft, title=title) if title else draft
        except NewsbotError as exc:
            return AddError(name, str(exc))

    def _load_one(self, source: str, overrides: dict) -> Draft | AddError:
        try:
            if source == "-":
                data = sys.stdin.buffer.read(self.settings.max_file_bytes + 1)
                if len(data) > self.settings.max_file_bytes:
                    raise InputError(f"stdin: more than {self.settings.max_file_bytes:,} bytes")
                draft = draft_from_bytes(data, "stdin")
            elif is_url(source):
                draft = fetch_url(source, timeout_s=self.settings.fetch_timeout_s, max_bytes=self.settings.fetch_max_bytes,
                                  allow_loopback=self.settings.allow_loopback_urls)
            elif Path(source).is_file():
                draft = read_file(Path(source), self.settings.max_file_bytes)
            else:
                raise InputError(f"{source}: no such file or directory, and not an http(s) URL")
            return replace(draft, **overrides)
        except NewsbotError as exc:
            return AddError(source, str(exc))
        except Exception as exc:  # a loader's own bug or limit (pypdf, trafilatura): this source fails, not the batch
            log.debug("loading %s failed", source, exc_info=True)
            return AddError(source, f"cannot load it ({exc.__class__.__name__}: {str(exc)[:200]})")

    def drafts_from_jsonl(self, path: str) -> Iterator[Draft | AddError]:
        """Each line is its own draft or error: a bad line never hides the lines after it."""
        try:
            for item in iter_jsonl(Path(path)):
                yield AddError(item.origin, str(item)) if isinstance(item, InputError) else item
        except InputError as exc:
            yield AddError(path, str(exc))

    @store_guard
    def add(
        self,
        drafts: Iterable[Draft | AddError],
        namespace: str | None = None,
        on_result: Callable[[AddResult | AddError], None] | None = None,
    ) -> list[AddResult | AddError]:
        """Index drafts: duplicates are reported, not re-embedded; a changed URL replaces its article.

        Each article is written atomically (its chunks, then its record). Errors in
        one draft are reported and do not stop the others.
        """
        st = self.store(namespace)
        results: list[AddResult | AddError] = []
        group: list[Draft | AddError] = []
        size = 0

        def flush() -> None:
            nonlocal size
            for r in self._add_group(st, group):
                results.append(r)
                if on_result:
                    on_result(r)
            group.clear()
            size = 0

        for draft in drafts:
            group.append(draft)
            size += len(draft.text or "") if isinstance(draft, Draft) else 0
            if len(group) >= GROUP or size >= GROUP_CHARS:
                flush()
        flush()
        return results

    def _prepare(self, st: NamespaceStore, draft: Draft, batch: "_Batch") -> tuple[Article, list[Chunk]] | AddResult:
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
        out: list[AddResult | AddError | tuple[Article, list[Chunk]]] = []
        batch = _Batch()
        with self._write_lock:
            for item in group:
                if isinstance(item, AddError):
                    out.append(item)
                    continue
                origin = item.origin or item.url or item.title
                try:
                    out.append(self._prepare(st, item, batch))
                except NewsbotError as exc:
                    out.append(AddError(origin, str(exc)))
                except Exception as exc:  # one bad draft is its own error; the rest of the group goes on
                    if storage_failure(exc, Path(self.settings.data_dir)) or _is_store_failure(exc):
                        raise
                    log.debug("preparing %s failed", origin, exc_info=True)
                    out.append(AddError(origin, f"cannot index it ({exc.__class__.__name__}: {str(exc)[:200]})"))
            out = self._within_cap(st, out)
            pending = [o for o in out if isinstance(o, tuple)]
            texts = [c.text for _, chunks in pending for c in chunks]
            vectors = self.embedder.embed_passages(texts) if texts else None
            items, offset = [], 0
            for article, chunks in pending:
                items.append((article, chunks, vectors[offset : offset + len(chunks)]))
                offset += len(chunks)
            statuses = [s for run in _unique_id_runs(items) for s in self._write(st, run)]
            written = iter(zip(items, statuses))
            final: list[AddResult | AddError] = []
            for o in out:
                if isinstance(o, tuple):
                    (article, chunks, _), status = next(written)
                    final.append(AddResult(status, replace(article, chunks=len(chunks)), len(chunks)))
                else:
                    final.append(o)
            return final

    @store_guard
    def import_embedded(self, items: list[tuple[Article, list[Chunk], "np.ndarray"]], namespace: str | None = None) -> list[str]:
        """Write articles whose chunks and vectors are already made (a migration, or the benchmarks'
        synthetic corpus), atomically per article like `add`; their statuses."""
        st = self.store(namespace)
        with self._write_lock:
            return [s for batch in _unique_id_runs(items) for s in self._write(st, batch)]

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
                    o = AddError(o[0].url or o[0].title, f"namespace {st.namespace!r} is full: it holds the maximum of {cap} "
                                 "articles (NEWSBOT_MAX_ARTICLES); remove some first")
                else:
                    room -= 1
                    existing.add(o[0].id)
            kept.append(o)
        return kept

    def _write(self, st: NamespaceStore, items: list[tuple[Article, list[Chunk], object]]) -> list[str]:
        """Write articles with distinct ids to Chroma, then to the lexical index; their statuses."""
        existing = set(st.get_articles([a.id for a, _, _ in items]))
        journal = self._journal(st.namespace)
        _write_synced(journal, json.dumps([[a.id, a.content_hash] for a, _, _ in items]))
        st.write_articles(items, replacing=existing)
        try:
            for article in (a for a, _, _ in items if a.id in existing):
                self.lexical.remove_article(st.namespace, article.id)
            self.lexical.add(st.namespace, [(c.id, c.text, chunk_metadata(a, c)) for a, chunks, _ in items for c in chunks])
        except LexicalReset:  # Chroma holds the write; the lexical index is rebuilt from it at the next sync
            self._synced.discard(st.namespace)
        journal.unlink()
        return ["replaced" if a.id in existing else "added" for a, _, _ in items]

    # ------------------------------------------------------------ asking

    @store_guard
    def ask(
        self,
        question: str,
        namespace: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        retrieval: RetrievalConfig | None = None,
        context: str = "",
        context_articles: Iterable[str] = (),
        llm: bool | None = None,
    ) -> Answer:
        """Answer `question` from the namespace's articles, with verified citations.

        `mode` overrides the retrieval mode; `retrieval` the whole retrieval config (eval presets);
        a follow-up passes the earlier question as `context` (retrieval reads both, the answer's
        sentences are chosen for the new question) and the earlier sources as `context_articles`.
        `llm` overrides LLM_PROVIDER for this question: True needs one configured, False forces extractive.
        """
        t0 = time.perf_counter()
        question = " ".join((question or "").split())
        if not question:
            raise InputError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InputError(f"the question is too long ({len(question)} characters; the limit is {self.settings.max_question_chars})")
        k = k or self.settings.top_k
        use_llm = self.settings.llm_enabled if llm is None else llm
        if use_llm and not self.settings.llm_enabled:
            raise ConfigError("no LLM is configured: set LLM_PROVIDER (openai, openai-compatible or ollama) in .env")
        timings: dict[str, float] = {}
        st = self.store(namespace, create=False)
        if st.namespace not in self._nonempty and (not st.exists or st.count_chunks() == 0):
            timings["total_ms"] = (time.perf_counter() - t0) * 1000
            return Answer(question, answering.ABSTAIN_TEXT + " No articles are indexed yet.", True, timings_ms=timings,
                          reason=answerability.EMPTY)
        self._nonempty.add(st.namespace)
        t = time.perf_counter()
        config = retrieval or RetrievalConfig(mode=self.settings.retrieval_mode, candidates=self.settings.candidates)
        config = replace(config, mode=mode or config.mode, candidates=max(config.candidates, k))
        search = f"{' '.join(context.split())} {question}" if context else question
        symmetric = config.statements_as_passages and not looks_like_question(question)
        qvec = self.embedder.embed_query(search, as_passage=symmetric)
        judge = self.embedder.embed_query(search) if symmetric else None
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        passages = retrieve(st, self.lexical, qvec, search, k, config, filters, timings,
                            context_articles=frozenset(context_articles), judge_vector=judge)
        t = time.perf_counter()
        articles = st.get_articles([p.article_id for p in passages], with_text=True)
        # Drop chunks of an article version that is not (or no longer) committed.
        passages = [
            p for p in passages
            if p.article_id in articles and p.chunk_id.startswith(f"{p.article_id}@{articles[p.article_id].content_hash[:12]}")
        ]
        lang = detect_language(question, self.lexical.languages(st.namespace))  # as retrieval judged it (cached)
        judgment = self._judge(st.namespace, question, lang, passages, articles)
        if judgment.answerable:
            text, citations = answering.compose(question, list(judgment.passages), articles, self.settings.answer_sentences,
                                                context=context)
        else:
            text, citations = answering.abstention(judgment, lang), []
        abstained = not citations
        closest = None
        if abstained and judgment.reason == answerability.NOT_COVERED and answerability.near_topic(judgment, self._model):
            closest = answering.closest_sentence(question, list(judgment.passages), articles, context)
        verified = answering.verify_citations(citations, articles)
        if len(verified) != len(citations):  # cannot happen by construction; never show an unverified quote
            text = " ".join(f"{answering.defuse_markers(' '.join(c.quote.split()))} [{c.n}]" for c in verified) or answering.ABSTAIN_TEXT
            abstained = not verified
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        result = Answer(question, text, abstained, verified, passages, timings,
                        reason=judgment.reason or ("" if not abstained else answerability.NOT_COVERED), judgment=judgment,
                        closest=closest)
        if use_llm and not abstained:  # judged not to answer: no LLM is asked, there is nothing to answer from
            t = time.perf_counter()
            result = self._generate(result, articles, k, lang)
            timings["llm_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return result

    def _judge(self, namespace: str, question: str, lang: str, passages: list[Passage],
               articles: dict[str, Article]) -> "answerability.Judgment":
        """The answerability judgment, with the term statistics it needs from the lexical index."""
        q_terms = lexical_terms(question, lang)
        df, total = self.lexical.document_frequencies(namespace, q_terms) if q_terms else ({}, 0)
        # IDF as if the index held at least JUDGE_MIN_CHUNKS chunks: in a tiny index every term it lacks
        # would otherwise outweigh the terms it has several times over, whatever the question.
        weights = idf_weights(q_terms, df, max(total, answerability.JUDGE_MIN_CHUNKS)) if q_terms else {}
        terms = self.lexical.terms_of(namespace, [p.chunk_id for p in passages[:5]])
        return answerability.judge(question, lang, passages, articles, weights, terms,
                                   self._unknown_names(namespace, question, lang, passages), self._model)

    @functools.cached_property
    def _model(self) -> "answerability.Model":
        """The answerability model at the configured operating point (read once)."""
        return answerability.operating_point(self.settings.abstain_threshold)

    def _unknown_names(self, namespace: str, question: str, lang: str, passages: list[Passage]) -> list[str]:
        """Names the question asks about that no chunk of the namespace contains (nor a retrieved
        title). Judged only when passages in the question's language were retrieved: an article in
        that language would spell the name the same way ("Pope" may be "Paus" in Indonesian)."""
        if not lang or not any(p.lang == lang for p in passages):
            return []
        names = {n: stems for n in key_names(question) if (stems := lexical_terms(n, lang))}
        if not names:
            return []
        df, _ = self.lexical.document_frequencies(namespace, [t for stems in names.values() for t in stems])
        titles = {t for p in passages for t in lexical_terms(p.title, p.lang)}
        return [n for n, stems in names.items() if not any(df.get(t, 0) or t in titles for t in stems)]

    def _generate(self, extractive: Answer, articles: dict[str, Article], k: int, lang: str) -> Answer:
        """The LLM's answer after verification; the extractive one, with a notice, when the LLM fails."""
        from . import llm_answer
        from .llm import ChatLLM

        if self._chat is None:
            self._chat = (ChatLLM(self.settings), llm_answer.Prompts.load(self.settings.prompts_dir))
        chat, prompts = self._chat
        sources = llm_answer.number_sources(answerability.sources_for(extractive.judgment), articles, k)
        today = datetime.now(timezone.utc).date().isoformat()
        system, user = llm_answer.build_prompt(prompts, extractive.question, sources, lang or "en", today)
        try:
            reply = chat.chat(system, user)
        except LLMUnavailableError as exc:
            return replace(extractive, notes=[*extractive.notes, f"LLM unavailable ({exc}); answered with quotes instead"])
        checked = llm_answer.verify(reply, sources, self._closest_sentence)
        verified = answering.verify_citations(checked.citations, articles)
        if checked.citations and len(verified) == len(checked.citations):
            return replace(extractive, answer=checked.text, citations=verified, mode="llm", model=chat.name, removed=checked.removed)
        if checked.said_not_found:
            return replace(extractive, answer=answering.ABSTAIN_TEXT, citations=[], abstained=True, mode="llm",
                           reason=answerability.NOT_COVERED,
                           model=chat.name, removed=checked.removed,
                           notes=[*extractive.notes, "the LLM found no answer in the passages"])
        return replace(extractive, removed=checked.removed,
                       notes=[*extractive.notes, "the LLM's answer had no verifiable sentence; answered with quotes instead"])

    def _closest_sentence(self, claim: str, cited: list) -> float:
        """The highest cosine between `claim` and a sentence of the cited passages (both embedded as
        passages: a symmetric comparison that works across languages). Sentences are cached."""
        sentences = [s.text[a:b] for s in cited for a, b in sentence_spans(s.text)][:60]
        if not sentences:
            return 0.0
        vectors = self.embedder.embed_passages([claim, *sentences], urgent=True)
        return float(np.max(vectors[1:] @ vectors[0]))

    # ------------------------------------------------------------ managing

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
    def remove(self, article_id: str, namespace: str | None = None) -> Article:
        st = self.store(namespace, create=False)
        if not st.exists:
            self._missing(article_id, namespace)
        with self._write_lock:
            article = st.delete_article(article_id)
            try:
                self.lexical.remove_article(st.namespace, article_id)
            except LexicalReset:
                self._synced.discard(st.namespace)
            self._nonempty.discard(st.namespace)
        return article

    def _missing(self, article_id: str, namespace: str | None):
        raise NotFoundError(f"no article with id {article_id!r} in namespace {namespace or self.settings.namespace!r}")

    @store_guard
    def stats(self, namespace: str | None = None) -> dict:
        st = self.store(namespace, create=False)
        articles = st.list_articles() if st.exists else []
        langs: dict[str, int] = {}
        for a in articles:
            langs[a.lang or "?"] = langs.get(a.lang or "?", 0) + 1
        return {
            "namespace": st.namespace,
            "articles": len(articles),
            "chunks": st.count_chunks(),
            "languages": langs,
            "embedding_model": self.embedder.model_id,
            "store": f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
            if self.settings.server_mode
            else f"embedded ({Path(self.settings.data_dir) / 'chroma'})",
            "data_dir": str(self.settings.data_dir),
            "embedding_cache_entries": self.embedder.cache.count() if self.embedder.cache else 0,
            "retrieval_mode": self.settings.retrieval_mode,
        }
