"""The Chroma store: the system of record for articles and chunks, one pair of
collections per namespace.

We always pass our own embeddings (Chroma's default embedding function would
download a model), write in batches no larger than Chroma's maximum, and write an
article's record only after all its chunks: the record is the commit mark, so a
crash mid-add leaves orphan chunks that `sweep_orphans` removes, never a listed
article with missing chunks.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from newsbot.index.errors import ModelMismatchError, NotFoundError, StoreUnavailableError
from newsbot.index.records import Article, Chunk
from newsbot.index.settings import check_namespace

SCHEMA = 1
# How many graph neighbours Chroma's HNSW search keeps exploring (its `ef_search`; Chroma's default is 100).
# At 100 the search misses true nearest chunks where the graph is crowded or split: in the 100k-chunk benchmark
# index it found the exact top chunk for 72% of bench_query's questions (recall@50 0.78), and in the idmt + rtqa
# mixed-language index English questions lost Indonesian chunks that were their closest (recall@50 0.95, as low
# as 0.46 for one question). At 800: 95% (0.97) at 100k, for about 1.5 ms a question (docs/performance.md).
HNSW_EF_SEARCH = 800
NEXT = ".next"  # the suffix of a namespace's copy that a reindex builds beside it (ingest/reindex.py)
COMPLETE = "reindex_complete"  # set on the `.next` articles collection once every article is in it
# Chroma writes an HNSW index to disk after this many new vectors (Chroma's default). An index written in this
# process and never persisted cannot be loaded back once the index cache (open_client) evicts it ("Error creating
# hnsw segment reader: Nothing found on disk"); one persisted once can (the newer vectors are read from Chroma's
# log). So a collection smaller than this is persisted at every write (HNSW_SMALL_SYNC), and a larger one, which
# was, keeps Chroma's threshold: persisting every write of a large index cost the tests' indexing 5-15%
# (docs/decisions/0002-bounded-chroma-index-cache.md).
HNSW_SYNC_THRESHOLD = 1000
HNSW_SMALL_SYNC = 1
_PAGE = 1000
log = logging.getLogger("newsbot.storage")


def day_number(iso_date: str) -> int:
    """2025-02-22 -> 20250222 (0 for no date), for range filters in Chroma."""
    return int(iso_date.replace("-", "")) if iso_date else 0


@dataclass(frozen=True)
class Filters:
    """Metadata filters on retrieval: outlet (case-insensitive) and a date range (inclusive)."""

    source: str = ""
    date_from: str = ""
    date_to: str = ""

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.source:
            clauses.append({"source_key": self.source.strip().lower()})
        if self.date_from:
            clauses.append({"published_day": {"$gte": day_number(self.date_from)}})
        if self.date_to:
            clauses.append({"published_day": {"$lte": day_number(self.date_to)}})
        if self.date_to and not self.date_from:
            clauses.append({"published_day": {"$gt": 0}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def __bool__(self) -> bool:
        return bool(self.source or self.date_from or self.date_to)


def _no_such_collection(exc: Exception) -> bool:
    """Chroma's way of saying a collection does not exist (embedded and server clients word it differently)."""
    return "does not exist" in str(exc) or "not found" in str(exc).lower()


def _unavailable(exc: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(f"the vector store is unavailable ({exc.__class__.__name__}: {exc})")


def open_client(data_dir: Path, host: str = "", port: int = 8000, cached_indexes: int = 0):
    """A Chroma client: embedded under `data_dir/chroma`, or a server's HTTP client. `cached_indexes`: how
    many HNSW indexes the embedded store keeps in memory (two a namespace; 0: Chroma's own choice)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:  # chromadb raises several kinds for a down server
            raise StoreUnavailableError(f"cannot reach the Chroma server at {host}:{port} ({exc})") from None
        return client
    if cached_indexes:
        _cap_index_cache(cached_indexes)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)


_INDEX_CACHE_CAP = [0]


def _cap_index_cache(indexes: int) -> None:
    """Cap the embedded store's cache of HNSW indexes. Chroma 1.x sizes it from the file-descriptor limit
    (RLIMIT_NOFILE // 5: 4,000 indexes at this machine's 20,000), keeps every namespace it touched in memory, and
    has no setting for it: one process adding to 1,000 namespaces grew to 5.3 GB. Chroma reads the size in
    `RustBindingsAPI.start`, so that is where it is capped (the least recently used index is evicted and read
    back from disk when asked for)."""
    from chromadb.api.rust import RustBindingsAPI

    _INDEX_CACHE_CAP[0] = indexes
    if getattr(RustBindingsAPI.start, "newsbot_capped", False):
        return
    original = RustBindingsAPI.start

    def start(self) -> None:
        if _INDEX_CACHE_CAP[0]:
            self.hnsw_cache_size = min(getattr(self, "hnsw_cache_size", _INDEX_CACHE_CAP[0]), _INDEX_CACHE_CAP[0])
        original(self)

    start.newsbot_capped = True  # type: ignore[attr-defined]
    RustBindingsAPI.start = start  # type: ignore[method-assign]


class NamespaceStore:
    """The chunks and articles of one namespace, in two Chroma collections."""

    def __init__(self, client, namespace: str, model_id: str, create: bool = True,
                 accepted_ids: frozenset[str] = frozenset(), suffix: str = "", check_model: bool = True) -> None:
        """`suffix` names a side copy of the namespace (a reindex builds `.next`); `check_model=False`
        opens a namespace whatever model built it (to export it, or to reindex it with another)."""
        self.namespace = check_namespace(namespace)
        self.model_id = model_id
        self.accepted_ids = accepted_ids | {model_id}
        self.suffix = suffix
        self.check_model = check_model
        self._client = client
        self._sync: dict[str, int] = {}  # collection -> the sync threshold it was given (see _sync_as_sized)
        self.max_batch = _max_batch(client)
        self.chunks = self._collection(collection_name(namespace, "chunks", suffix), create)
        self.articles = self._collection(collection_name(namespace, "articles", suffix), create)

    def _collection(self, name: str, create: bool):
        try:
            try:
                col = self._client.get_collection(name)
            except Exception as exc:
                if not _no_such_collection(exc):
                    raise
                col = self._swapped_in(name)
                if col is not None:
                    return self._checked(col)
                if not create:
                    return None
                try:
                    col = self._client.create_collection(
                        name,
                        embedding_function=None,
                        metadata={"embed_model": self.model_id, "schema": SCHEMA},
                        configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_EF_SEARCH,
                                                "sync_threshold": HNSW_SMALL_SYNC}},
                    )
                except Exception as race:  # another thread or process created it meanwhile
                    if "already exists" not in str(race):
                        raise
                    col = self._client.get_collection(name)
        except (ConnectionError, OSError) as exc:
            raise _unavailable(exc) from None
        return self._checked(col)

    def _swapped_in(self, live_name: str):
        """A reindex's complete `.next` copy of a live collection that is missing: a swap cut between its
        steps, not yet finished (a full disk). Reads (and writes) go to the copy, which the swap will make
        live, and never to an empty live collection created in the gap. None when there is no such copy."""
        if self.suffix:
            return None
        try:
            marker = self._client.get_collection(collection_name(self.namespace, "articles", NEXT))
            if not (marker.metadata or {}).get(COMPLETE):
                return None
            kind = "articles" if live_name == collection_name(self.namespace, "articles") else "chunks"
            return marker if kind == "articles" else self._client.get_collection(live_name + NEXT)
        except Exception as exc:
            if _no_such_collection(exc):
                return None
            raise

    def _checked(self, col):
        _widen_search(col)
        schema = (col.metadata or {}).get("schema", SCHEMA)
        if isinstance(schema, int) and schema > SCHEMA:
            raise ModelMismatchError(
                f"namespace {self.namespace!r} was written by a newer newsbot (store schema {schema}, this one reads "
                f"{SCHEMA}): upgrade newsbot to open it")
        built_with = (col.metadata or {}).get("embed_model")
        if self.check_model and built_with and built_with not in self.accepted_ids:
            raise ModelMismatchError(
                f"namespace {self.namespace!r} was indexed with the embedding model {built_with!r}, "
                f"but the current setting is {self.model_id!r}. Rebuild it with the current model "
                f"(`newsbot reindex --namespace {self.namespace}`; the articles are kept), or set "
                f"NEWSBOT_EMBED_PROVIDER/NEWSBOT_EMBED_MODEL back."
            )
        return col

    @property
    def built_with(self) -> str:
        """The embedding model the namespace was indexed with."""
        return str(((self.chunks.metadata if self.chunks is not None else None) or {}).get("embed_model", ""))

    def preference(self, name: str) -> str:
        """A setting stored with the namespace (in its collection's metadata), e.g. the server's language."""
        return str(((self.articles.metadata if self.articles is not None else None) or {}).get(f"pref_{name}", ""))

    def set_preference(self, name: str, value: str) -> None:
        metadata = {**(self.articles.metadata or {}), f"pref_{name}": value}
        self.articles.modify(metadata=metadata)

    def rename(self, suffix: str) -> None:
        """Give both collections the names of another copy (Chroma renames in place: no data moves)."""
        self.chunks.modify(name=collection_name(self.namespace, "chunks", suffix))
        self.articles.modify(name=collection_name(self.namespace, "articles", suffix))
        self.suffix = suffix

    def mark(self, key: str) -> None:
        """Set a flag in the namespace's metadata (a reindex marks its copy complete)."""
        self.articles.modify(metadata={**(self.articles.metadata or {}), key: True})

    def drop(self) -> None:
        for col in (self.chunks, self.articles):
            if col is not None:
                self._client.delete_collection(col.name)
        self.chunks = self.articles = None

    def iter_articles(self) -> Iterator[Article]:
        """Every article with its text, a page at a time (export, reindex)."""
        if self.exists:
            for article_id, meta, doc in _paged(self.articles, ["metadatas", "documents"]):
                yield _article_from(article_id, meta, doc or "")

    @property
    def exists(self) -> bool:
        return self.chunks is not None

    # ------------------------------------------------------------ writes

    def write_articles(self, items: list[tuple[Article, list[Chunk], np.ndarray]], replacing: set[str]) -> None:
        """Write several articles: all their chunks, then their records (the commit), then
        the chunks of the previous versions of the ids in `replacing`.

        Batched, because each Chroma call costs milliseconds whatever its size.
        """
        for col in (self.chunks, self.articles):
            self._sync_as_sized(col)
        ids, vecs, docs, metas = [], [], [], []
        for article, chunks, vectors in items:
            ids += [c.id for c in chunks]
            vecs += list(vectors)
            docs += [c.text for c in chunks]
            metas += [chunk_metadata(article, c) for c in chunks]
        for i in range(0, len(ids), self.max_batch):
            part = slice(i, i + self.max_batch)
            written = written_ms()  # each call its own time: a reader between two calls misses neither
            self.chunks.upsert(ids=ids[part], embeddings=vecs[part], documents=docs[part],
                               metadatas=[{**meta, WRITTEN: written} for meta in metas[part]])

        records = []
        for article, chunks, vectors in items:
            mean = vectors.mean(axis=0)
            records.append((article, chunks, (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)))
        for i in range(0, len(records), self.max_batch):
            batch = records[i : i + self.max_batch]
            self.articles.upsert(
                ids=[a.id for a, _, _ in batch],
                embeddings=[m for _, _, m in batch],
                documents=[a.text for a, _, _ in batch],
                metadatas=[{**_article_meta(a), "chunks": len(c)} for a, c, _ in batch],
            )

        for article, _, _ in items:
            if article.id in replacing:
                self.chunks.delete(
                    where={"$and": [{"article_id": article.id}, {"content_hash": {"$ne": article.content_hash}}]}
                )

    def _sync_as_sized(self, col) -> None:
        """HNSW_SMALL_SYNC while the collection is smaller than Chroma's threshold, Chroma's threshold after
        (see HNSW_SYNC_THRESHOLD); changed only when the size crosses it, never on a read."""
        if col is None:
            return
        wanted = HNSW_SMALL_SYNC if col.count() < HNSW_SYNC_THRESHOLD else HNSW_SYNC_THRESHOLD
        known = self._sync.get(col.name)
        if known is None:
            known = ((getattr(col, "configuration", None) or {}).get("hnsw") or {}).get("sync_threshold")
        if known != wanted:
            col.modify(configuration={"hnsw": {"sync_threshold": wanted}})
        self._sync[col.name] = wanted

    def delete_article(self, article_id: str) -> Article:
        article = self.get_article(article_id)
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})
        return article

    def sweep_orphans(self, pending: list[tuple[str, str]]) -> list[str]:
        """Delete the chunks an interrupted write of `pending` (article id, content hash) left behind:
        those whose article has no record, or a record of another version. Costs O(pending), not
        O(index). Returns the ids of the chunks deleted."""
        live = self.get_articles([aid for aid, _ in pending])
        removed: list[str] = []
        for article_id, _ in dict.fromkeys(pending):
            where: dict[str, Any]
            if article_id in live:
                where = {"$and": [{"article_id": article_id}, {"content_hash": {"$ne": live[article_id].content_hash}}]}
            else:
                where = {"article_id": article_id}
            ids = self.chunks.get(where=where, include=[])["ids"]
            if ids:
                self.chunks.delete(ids=ids)
                removed += ids
        return removed

    def sweep_all_orphans(self) -> list[str]:
        """The same for every chunk of the namespace, when no journal says which articles to look at."""
        live = {i: m.get("content_hash", "") for i, m in _paged(self.articles, ["metadatas"])}
        orphans = [cid for cid, meta in _paged(self.chunks, ["metadatas"])
                   if live.get(meta.get("article_id")) != meta.get("content_hash")]
        for i in range(0, len(orphans), self.max_batch):
            self.chunks.delete(ids=orphans[i : i + self.max_batch])
        return orphans

    # ------------------------------------------------------------ reads

    def list_articles(self) -> list[Article]:
        if not self.exists:
            return []
        return [_article_from(i, m, "") for i, m in _paged(self.articles, ["metadatas"])]

    def get_article(self, article_id: str) -> Article:
        got = self.get_articles([article_id], with_text=True)
        if article_id not in got:
            raise NotFoundError(f"no article with id {article_id!r} in namespace {self.namespace!r}")
        return got[article_id]

    def get_articles(self, ids: list[str], with_text: bool = False) -> dict[str, Article]:
        if not self.exists or not ids:
            return {}
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self.articles.get(ids=list(dict.fromkeys(ids)), include=include)
        docs = got.get("documents") or [""] * len(got["ids"])
        return {i: _article_from(i, m, d or "") for i, m, d in zip(got["ids"], got["metadatas"], docs)}

    def find_by_hash(self, content_hash: str) -> str | None:
        if not self.exists:
            return None
        got = self.articles.get(where={"content_hash": content_hash}, include=[], limit=1)
        return got["ids"][0] if got["ids"] else None

    def has_article_since(self, iso_day: str) -> bool:
        """Whether any article was published on or after that day (one filtered lookup, no scan)."""
        if not self.exists:
            return False
        got = self.articles.get(where={"published_day": {"$gte": day_number(iso_day)}}, limit=1, include=[])
        return bool(got["ids"])

    def count_chunks(self) -> int:
        return self.chunks.count() if self.exists else 0

    def count_articles(self) -> int:
        return self.articles.count() if self.exists else 0

    def query_dense(self, vector: np.ndarray, n: int, where: dict | None) -> tuple[list[tuple[str, float]],
                                                                                   dict[str, dict[str, Any]]]:
        """((chunk id, cosine similarity) best first, and their rows as `get_chunks` gives them):
        one Chroma call instead of a search and a fetch."""
        if not self.exists:
            return [], {}
        got = self.chunks.query(query_embeddings=[vector], n_results=n, where=where,
                                include=["distances", "documents", "metadatas", "embeddings"])
        ids = got["ids"][0]
        ranked = [(cid, 1.0 - float(d)) for cid, d in zip(ids, got["distances"][0])]
        rows = {cid: _row(doc, meta, emb) for cid, doc, meta, emb in
                zip(ids, got["documents"][0], got["metadatas"][0], got["embeddings"][0])}
        return ranked, rows

    def get_chunks(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """id -> {"text", "meta", "embedding"} for the given chunk ids."""
        if not ids or not self.exists:
            return {}
        got = self.chunks.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        return {cid: _row(doc, meta, emb) for cid, doc, meta, emb in
                zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}

    def article_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Each article's mean chunk vector (stored with its record)."""
        if not ids or not self.exists:
            return {}
        got = self.articles.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    def iter_chunks(self) -> Iterator[tuple[str, str, dict]]:
        """All (id, text, metadata), page by page: what derived indexes are rebuilt from."""
        if self.exists:
            yield from _paged(self.chunks, ["documents", "metadatas"])

    def chunks_written_since(self, ms: int) -> Iterator[tuple[str, str, dict]]:
        """(id, text, metadata) of the chunks written after `ms` (unix milliseconds), page by page: what
        another process added since this one last looked (chunks written before WRITTEN existed are not)."""
        if self.exists:
            yield from _paged(self.chunks, ["documents", "metadatas"], where={WRITTEN: {"$gt": ms}})

    def chunk_ids(self, article_ids: list[str] | None = None) -> set[str]:
        """The ids of every chunk (of these articles), without their texts or vectors."""
        if not self.exists:
            return set()
        where = None if article_ids is None else {"article_id": {"$in": article_ids}}
        return {row[0] for row in _paged(self.chunks, [], where=where)}

    def chunks_by_id(self, chunk_ids: list[str]) -> Iterator[tuple[str, str, dict]]:
        for i in range(0, len(chunk_ids), _PAGE):
            got = self.chunks.get(ids=chunk_ids[i: i + _PAGE], include=["documents", "metadatas"])
            yield from zip(got["ids"], got["documents"], got["metadatas"])


def _widen_search(col) -> None:
    """Give a collection made with a narrower search (by an earlier newsbot) HNSW_EF_SEARCH. Chroma keeps it
    with the collection, and a process applies it from its first query on."""
    hnsw = (getattr(col, "configuration", None) or {}).get("hnsw") or {}
    if hnsw and hnsw.get("ef_search", HNSW_EF_SEARCH) < HNSW_EF_SEARCH:
        try:
            col.modify(configuration={"hnsw": {"ef_search": HNSW_EF_SEARCH}})
        except Exception as exc:  # a narrower search still answers: never refuse to open over it
            log.warning("could not widen the search of %s (%s); it finds fewer of the nearest chunks", col.name, exc)


def collection_name(namespace: str, kind: str, suffix: str = "") -> str:
    return f"nb-{namespace}-{kind}{suffix}"


def list_namespaces(client) -> list[str]:
    """The namespaces the store holds (their live copies)."""
    names = []
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        if name.startswith("nb-") and name.endswith("-articles"):
            names.append(name[len("nb-"):-len("-articles")])
    return sorted(names)


def _row(doc: str, meta: dict, embedding) -> dict[str, Any]:
    """A chunk as retrieval reads it: text, metadata, float32 vector."""
    return {"text": doc, "meta": meta, "embedding": np.asarray(embedding, dtype=np.float32)}


def _paged(collection, include: list[str], where: dict | None = None) -> Iterator[tuple]:
    """(id, *included fields) for every record of a collection (matching `where`), a page at a time."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=_PAGE, offset=offset, where=where)
        yield from zip(got["ids"], *(got[field] for field in include))
        if len(got["ids"]) < _PAGE:
            return
        offset += _PAGE


def _max_batch(client) -> int:
    try:
        return max(1, int(client.get_max_batch_size()))
    except Exception:
        return 1000


WRITTEN = "written_ms"  # when a chunk was written (unix ms): how another process's lexical index catches up


_LAST_WRITTEN = [0]


def written_ms() -> int:
    """Now in unix milliseconds, never the same twice in this process (two writes in one millisecond are
    told apart; a reader that saw the first still finds the second)."""
    _LAST_WRITTEN[0] = max(int(time.time() * 1000), _LAST_WRITTEN[0] + 1)
    return _LAST_WRITTEN[0]


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    """What a chunk carries: its offsets and its article's fields, so a passage is self-contained."""
    meta = _article_meta(article)
    del meta["added_at"]
    return {**meta, "article_id": article.id, "idx": chunk.index, "start": chunk.start, "end": chunk.end}


def _article_meta(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "source_key": article.source.strip().lower(),
        "published_at": article.published_at,
        "published_day": day_number(article.published_at),
        "lang": article.lang,
        "added_at": article.added_at,
        "content_hash": article.content_hash,
    }


def _article_from(article_id: str, meta: dict, text: str) -> Article:
    return Article(
        id=article_id,
        title=meta.get("title", ""),
        text=text,
        url=meta.get("url", ""),
        source=meta.get("source", ""),
        published_at=meta.get("published_at", ""),
        lang=meta.get("lang", ""),
        added_at=meta.get("added_at", ""),
        content_hash=meta.get("content_hash", ""),
        chunks=int(meta.get("chunks", 0)),
    )
