"""The feeds a namespace follows and what each has given, in `<data dir>/feeds.sqlite`: the feed's
URL, ETag and Last-Modified, when to poll next, its failures; the entries already indexed."""
from __future__ import annotations

import builtins  # FeedStore.list is a method: its annotations say builtins.list
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from newsbot.index.errors import InputError, NotFoundError
from newsbot.index.settings import check_namespace
from newsbot.index.sources.draft import is_url

INTERVAL_S = 30 * 60
MAX_BACKOFF_S = 24 * 3600
log = logging.getLogger("newsbot.feeds")
MIN_ENTRY_CHARS = 200  # an entry's own text stands in for its page only if it is an article's worth


@dataclass(frozen=True)
class Feed:
    namespace: str
    url: str
    title: str = ""
    added_by: str = ""
    added_at: str = ""
    interval_s: int = INTERVAL_S
    etag: str = ""
    modified: str = ""
    next_poll_at: float = 0.0
    failures: int = 0
    last_error: str = ""
    last_polled_at: str = ""
    articles: int = 0
    channel_id: int = 0  # a Discord channel to announce new articles in (0: none)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Entry:
    key: str  # the link and its update time: an updated entry is fetched again (and replaces its article)
    url: str
    title: str
    published_at: str
    author: str
    text: str


@dataclass
class Polled:
    feed: str
    status: str  # "new" | "not_modified" | "error"
    added: int = 0
    replaced: int = 0
    duplicate: int = 0
    failed: int = 0
    skipped: int = 0  # entries past the per-poll cap, left for the next poll
    error: str = ""
    new_articles: list = field(default_factory=list)  # the articles this poll added (Article records)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "new_articles"}


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class FeedStore:
    def __init__(self, data_dir: Path) -> None:
        path = Path(data_dir) / "feeds.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS feeds (namespace TEXT, url TEXT, title TEXT, added_by TEXT, "
                             "added_at TEXT, interval_s INTEGER, etag TEXT, modified TEXT, next_poll_at REAL, "
                             "failures INTEGER, last_error TEXT, last_polled_at TEXT, articles INTEGER, "
                             "PRIMARY KEY (namespace, url))")
            self._db.execute("CREATE TABLE IF NOT EXISTS seen (namespace TEXT, feed TEXT, entry TEXT, article_id TEXT, "
                             "seen_at TEXT, PRIMARY KEY (namespace, feed, entry))")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(feeds)")}
            if "channel_id" not in columns:  # a feeds.sqlite from before announcements
                self._db.execute("ALTER TABLE feeds ADD COLUMN channel_id INTEGER DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def check_room(self, namespace: str, url: str, max_feeds: int) -> None:
        """An http(s) URL not followed yet, and room for one more feed."""
        if not is_url(url):
            raise InputError(f"{url[:200]!r} is not an http(s) URL of a feed")
        feeds = self.list(namespace)
        if any(f.url == url for f in feeds):
            raise InputError(f"namespace {namespace!r} already follows {url}")
        if len(feeds) >= max_feeds:
            raise InputError(f"namespace {namespace!r} already follows {len(feeds)} feeds, the most allowed "
                             "(NEWSBOT_MAX_FEEDS); remove one first")

    def add(self, namespace: str, url: str, actor: str = "", max_feeds: int = 20, interval_s: int = INTERVAL_S,
            channel_id: int = 0, title: str = "") -> Feed:
        namespace, url = check_namespace(namespace), url.strip()
        self.check_room(namespace, url, max_feeds)
        feed = Feed(namespace, url, title=title, added_by=actor, added_at=_now(), interval_s=interval_s,
                    channel_id=channel_id)
        with self._lock, self._db:
            self._db.execute("INSERT INTO feeds VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", self._row(feed))
        return feed

    def remove(self, namespace: str, url: str) -> Feed:
        feed = self.get(namespace, url)
        with self._lock, self._db:
            self._db.execute("DELETE FROM feeds WHERE namespace = ? AND url = ?", [namespace, feed.url])
            self._db.execute("DELETE FROM seen WHERE namespace = ? AND feed = ?", [namespace, feed.url])
        return feed

    def get(self, namespace: str, url: str) -> Feed:
        for feed in self.list(namespace):
            if feed.url == url.strip():
                return feed
        raise NotFoundError(f"namespace {namespace!r} follows no feed {url.strip()[:200]!r} (see `feed list`)")

    def list(self, namespace: str | None = None) -> list[Feed]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM feeds" + (" WHERE namespace = ?" if namespace else "") +
                                    " ORDER BY namespace, added_at", [namespace] if namespace else []).fetchall()
        return [Feed(*row) for row in rows]

    def due(self, now: float) -> builtins.list[Feed]:
        return [f for f in self.list() if f.next_poll_at <= now]

    def save(self, feed: Feed) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE feeds SET title=?, etag=?, modified=?, next_poll_at=?, failures=?, last_error=?, "
                             "last_polled_at=?, articles=? WHERE namespace=? AND url=?",
                             [feed.title, feed.etag, feed.modified, feed.next_poll_at, feed.failures, feed.last_error,
                              feed.last_polled_at, feed.articles, feed.namespace, feed.url])

    def seen(self, feed: Feed, keys: builtins.list[str]) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT entry FROM seen WHERE namespace = ? AND feed = ?",
                                    [feed.namespace, feed.url])
            known = {r[0] for r in rows}
        return known & set(keys)

    def mark_seen(self, feed: Feed, key: str, article_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO seen VALUES (?,?,?,?,?)",
                             [feed.namespace, feed.url, key, article_id, _now()])

    @staticmethod
    def _row(f: Feed) -> builtins.list:
        return [f.namespace, f.url, f.title, f.added_by, f.added_at, f.interval_s, f.etag, f.modified, f.next_poll_at,
                f.failures, f.last_error, f.last_polled_at, f.articles, f.channel_id]
