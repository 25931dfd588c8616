"""A BM25 lexical index in SQLite FTS5, derived from what Chroma holds.

It indexes language-neutral stems (see `text.lexical_terms`), not raw words.

FTS5 updates incrementally (one row per chunk) and opens instantly, so nothing is
rebuilt on every add. Chroma stays the system of record: when the row count of a
namespace differs from Chroma's chunk count, that namespace is rebuilt from Chroma; with a
Chroma server that other processes write to, it catches up with what they wrote since it last
looked (`Ingest.sync`, by the chunks' write times and its `sync_marks`).
A damaged file is started anew (`LexicalReset` tells the engine to rebuild and retry).
"""
from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from newsbot.index.storage.sqlite_files import discard, is_damage, open_derived
from newsbot.index.storage.store import WRITTEN, Filters, day_number
from newsbot.index.text.words import lexical_terms

VERSION = 3  # bump when what is indexed changes: a new table is then rebuilt from Chroma


def _table(namespace: str) -> str:
    return f"fts{VERSION}_" + hashlib.sha1(namespace.encode()).hexdigest()[:16]


class LexicalReset(Exception):
    """The lexical index file was damaged and has been started anew: rebuild it from Chroma."""


def _recovering(method):
    """A damaged file found during any operation is discarded and LexicalReset raised."""

    @functools.wraps(method)
    def wrapper(self: "LexicalIndex", *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._reset(exc)
            raise LexicalReset(str(exc)) from None

    return wrapper


class LexicalIndex:
    """BM25 over chunk text, one FTS5 table per namespace."""

    WHAT = "the lexical index"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_derived(path, lambda db: None, self.WHAT)
        self._lock = threading.RLock()
        self._known: set[str] = set()
        self._totals: dict[str, int] = {}  # rows per table: COUNT(*) on FTS5 reads the whole table
        self._langs: dict[str, frozenset[str]] = {}  # languages per table, read once

    def _ensure(self, namespace: str) -> str:
        table = _table(namespace)
        if table not in self._known:
            with self._lock, self._db:
                self._db.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5("
                    "text, chunk_id UNINDEXED, article_id UNINDEXED, lang UNINDEXED, source_key UNINDEXED,"
                    " day UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
                )
                self._db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_vocab USING fts5vocab({table}, 'row')")
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {table}_terms (chunk_id TEXT PRIMARY KEY, terms TEXT) "
                                 f"WITHOUT ROWID")
                self._db.execute("CREATE TABLE IF NOT EXISTS sync_marks (tbl TEXT PRIMARY KEY, written_ms INTEGER)")
            self._known.add(table)
        return table

    @_recovering
    def document_frequencies(self, namespace: str, terms: list[str]) -> tuple[dict[str, int], int]:
        """({term: number of chunks containing it}, number of chunks), for IDF weights."""
        table = self._ensure(namespace)
        terms = list(dict.fromkeys(terms))
        total = self.count(namespace)
        with self._lock:
            if not terms:
                return {}, total
            marks = ",".join("?" * len(terms))
            rows = self._db.execute(f"SELECT term, doc FROM {table}_vocab WHERE term IN ({marks})", terms).fetchall()
        return dict(rows), total

    @_recovering
    def add(self, namespace: str, rows: Iterable[tuple[str, str, dict]]) -> None:
        """Insert (chunk id, text, chunk metadata) rows."""
        table = self._ensure(namespace)
        prepared = [(cid, " ".join(lexical_terms(text, m.get("lang", ""))), m) for cid, text, m in rows]
        with self._lock, self._db:
            self._drop(table, [cid for cid, _, _ in prepared])  # a chunk written again (a re-run) is held once
            self._db.executemany(
                f"INSERT INTO {table} (text, chunk_id, article_id, lang, source_key, day) VALUES (?,?,?,?,?,?)",
                [(terms, cid, m.get("article_id", ""), m.get("lang", ""), m.get("source_key", ""),
                  int(m.get("published_day", 0))) for cid, terms, m in prepared],
            )
            self._db.executemany(f"INSERT OR REPLACE INTO {table}_terms (chunk_id, terms) VALUES (?, ?)",
                                 [(cid, terms) for cid, terms, _ in prepared])
            self._totals.pop(table, None)
            if table in self._langs:
                self._langs[table] |= {m.get("lang", "") for _, _, m in prepared} - {""}

    @_recovering
    def terms_of(self, namespace: str, chunk_ids: list[str]) -> dict[str, set[str]]:
        """The indexed terms of these chunks (computed once, at add time)."""
        table = self._ensure(namespace)
        out: dict[str, set[str]] = {}
        with self._lock:
            for i in range(0, len(chunk_ids), 500):
                part = chunk_ids[i : i + 500]
                rows = self._db.execute(
                    f"SELECT chunk_id, terms FROM {table}_terms WHERE chunk_id IN ({','.join('?' * len(part))})", part)
                out.update((cid, set(terms.split())) for cid, terms in rows)
        return out

    def _drop(self, table: str, chunk_ids: list[str]) -> None:
        """Delete these chunks' rows if present (the `_terms` b-tree says which are, cheaply;
        only those cost a scan of the FTS table)."""
        present: list[str] = []
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            present += [r[0] for r in self._db.execute(f"SELECT chunk_id FROM {table}_terms WHERE chunk_id IN "
                                                       f"({marks})", part)]
        for i in range(0, len(present), 500):
            part = present[i : i + 500]
            marks = ",".join("?" * len(part))
            self._db.execute(f"DELETE FROM {table} WHERE chunk_id IN ({marks})", part)
            self._db.execute(f"DELETE FROM {table}_terms WHERE chunk_id IN ({marks})", part)
        if present:
            self._totals.pop(table, None)

    @_recovering
    def remove_chunks(self, namespace: str, chunk_ids: list[str]) -> None:
        if chunk_ids:
            table = self._ensure(namespace)
            with self._lock, self._db:
                self._drop(table, chunk_ids)

    @_recovering
    def remove_article(self, namespace: str, article_id: str) -> None:
        table = self._ensure(namespace)
        with self._lock, self._db:
            ids = [r[0] for r in self._db.execute(f"SELECT chunk_id FROM {table} WHERE article_id = ?", (article_id,))]
            self._db.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
            self._db.executemany(f"DELETE FROM {table}_terms WHERE chunk_id = ?", [(i,) for i in ids])
            self._totals.pop(table, None)

    @_recovering
    def chunk_ids(self, namespace: str, article_ids: list[str] | None = None) -> set[str]:
        """The chunks the namespace's table holds (of these articles)."""
        table = self._ensure(namespace)
        with self._lock:
            if article_ids is None:
                return {r[0] for r in self._db.execute(f"SELECT chunk_id FROM {table}_terms")}
            out: set[str] = set()
            for i in range(0, len(article_ids), 500):
                part = article_ids[i: i + 500]
                out |= {r[0] for r in self._db.execute(
                    f"SELECT chunk_id FROM {table} WHERE article_id IN ({','.join('?' * len(part))})", part)}
            return out

    @_recovering
    def mark(self, namespace: str) -> int:
        """The newest chunk write (unix ms) this table has caught up with (`Ingest.sync`); 0 for none."""
        table = self._ensure(namespace)
        with self._lock:
            row = self._db.execute("SELECT written_ms FROM sync_marks WHERE tbl = ?", (table,)).fetchone()
        return int(row[0]) if row else 0

    @_recovering
    def set_mark(self, namespace: str, written_ms: int) -> None:
        table = self._ensure(namespace)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO sync_marks (tbl, written_ms) VALUES (?, ?)", (table, written_ms))

    def forget_count(self, namespace: str) -> None:
        """Count the rows again at the next `count` (another process may share the file)."""
        with self._lock:
            self._totals.pop(_table(namespace), None)

    @_recovering
    def count(self, namespace: str) -> int:
        """Rows in the namespace's table (the `_terms` table's b-tree counts fast; FTS5 would scan)."""
        table = self._ensure(namespace)
        with self._lock:
            if table not in self._totals:
                self._totals[table] = self._db.execute(f"SELECT COUNT(*) FROM {table}_terms").fetchone()[0]
            return self._totals[table]

    @_recovering
    def languages(self, namespace: str) -> frozenset[str]:
        """The languages of the namespace's chunks (a removal may leave one too many: harmless)."""
        table = self._ensure(namespace)
        with self._lock:
            if table not in self._langs:
                rows = self._db.execute(f"SELECT DISTINCT lang FROM {table}").fetchall()
                self._langs[table] = frozenset(r[0] for r in rows if r[0])
            return self._langs[table]

    @_recovering
    def rebuild(self, namespace: str, rows: Iterable[tuple[str, str, dict]]) -> int:
        table = self._ensure(namespace)
        with self._lock:
            with self._db:
                self._db.execute(f"DELETE FROM {table}")
                self._db.execute(f"DELETE FROM {table}_terms")
                self._db.execute("DELETE FROM sync_marks WHERE tbl = ?", (table,))
                self._totals.pop(table, None)
                self._langs.pop(table, None)
            n = newest = 0
            batch: list[tuple[str, str, dict]] = []
            for row in rows:
                batch.append(row)
                newest = max(newest, int(row[2].get(WRITTEN, 0) or 0))
                if len(batch) >= 1000:
                    self.add(namespace, batch)
                    n += len(batch)
                    batch = []
            self.add(namespace, batch)
            if newest:
                self.set_mark(namespace, newest)  # a process on a Chroma server catches up from here
            return n + len(batch)

    @_recovering
    def search(self, namespace: str, terms: list[str], n: int,
               filters: Filters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score; higher is better), best first, for chunks holding any of `terms`
        (as `lexical_terms` gives them)."""
        query = " OR ".join(f'"{t}"' for t in dict.fromkeys(terms) if t)  # each quoted: no FTS syntax leaks in
        if not query:
            return []
        table = self._ensure(namespace)
        sql = f"SELECT chunk_id, bm25({table}) AS s FROM {table} WHERE {table} MATCH ?"
        args: list = [query]
        if filters and filters.source:
            sql += " AND source_key = ?"
            args.append(filters.source.strip().lower())
        if filters and filters.date_from:
            sql += " AND day >= ?"
            args.append(day_number(filters.date_from))
        if filters and filters.date_to:
            sql += " AND day <= ? AND day > 0"
            args.append(day_number(filters.date_to))
        sql += " ORDER BY s LIMIT ?"
        args.append(n)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [(cid, -float(score)) for cid, score in rows]

    def _reset(self, exc: BaseException) -> None:
        with self._lock:
            self._db.close()
            discard(self.path, self.WHAT, exc)
            self._db = open_derived(self.path, lambda db: None, self.WHAT)
            self._known.clear()
            self._totals.clear()
            self._langs.clear()

    def close(self) -> None:
        with self._lock:
            self._db.close()
