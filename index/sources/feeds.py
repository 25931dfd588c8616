"""Feeds a namespace follows (RSS 2.0, Atom, JSON Feed, parsed by feedparser), and polling them.

State lives in `<data dir>/feeds.sqlite`, per namespace: each feed's URL, its ETag and
Last-Modified, when to poll next, its failures; and the entries already indexed. An entry is marked
seen only after its article is written, and the validators are stored only after the whole poll,
so a crash mid-poll loses nothing (the next poll fetches the feed again) and duplicates nothing
(an article already indexed is recognised by its URL or its content hash and not embedded again).

Each entry's page is fetched and extracted like `/add URL` (the same public-address rule, deadline
and byte cap); the feed's title, date and author are the fallbacks, and the entry's own text is
used when the page cannot be fetched.
"""
from __future__ import annotations

import logging
import random
import re
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from newsbot.index.errors import FetchError, InputError, NotFoundError, StorageError, StoreUnavailableError
from newsbot.index.records import AddError
from newsbot.index.settings import check_namespace
from newsbot.index.sources.fetch import fetch_feed
from newsbot.index.sources.loaders import Draft, is_url, safe_date

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

    def due(self, now: float) -> list[Feed]:
        return [f for f in self.list() if f.next_poll_at <= now]

    def save(self, feed: Feed) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE feeds SET title=?, etag=?, modified=?, next_poll_at=?, failures=?, last_error=?, "
                             "last_polled_at=?, articles=? WHERE namespace=? AND url=?",
                             [feed.title, feed.etag, feed.modified, feed.next_poll_at, feed.failures, feed.last_error,
                              feed.last_polled_at, feed.articles, feed.namespace, feed.url])

    def seen(self, feed: Feed, keys: list[str]) -> set[str]:
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
    def _row(f: Feed) -> list:
        return [f.namespace, f.url, f.title, f.added_by, f.added_at, f.interval_s, f.etag, f.modified, f.next_poll_at,
                f.failures, f.last_error, f.last_polled_at, f.articles, f.channel_id]


def parse_entries(body: bytes, url: str) -> tuple[str, list[Entry]]:
    """(the feed's title, its entries newest first) from RSS 2.0, Atom or JSON Feed bytes. RSS and
    Atom (with their dialects and broken encodings) are feedparser's; a JSON Feed is plain JSON, read
    with the standard library (feedparser 6 does not read it)."""
    import feedparser

    if body.lstrip()[:1] == b"{":
        return _json_feed(body, url)
    _refuse_entity_declarations(body, url)
    with warnings.catch_warnings():  # feedparser warns about its updated/published key mapping on every entry
        warnings.simplefilter("ignore", DeprecationWarning)
        return _feedparser_entries(feedparser.parse(body), url)


_PROLOG_END = re.compile(rb"<[A-Za-z_]")  # the root element: the DTD and its entities come before it
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_HIDING = re.compile(rb"<!--.*?-->|<\?.*?\?>", re.DOTALL)  # a comment or PI whose "<x" would pass for the root


def _refuse_entity_declarations(body: bytes, url: str) -> None:
    """A feed that declares XML entities is refused: feeds never need them, and feedparser keeps
    internal ones with plain values, which expand ~100x inside the byte cap (a 2.5 MB feed gave
    entries of 116 million characters). Checked on the bytes feedparser itself parses (its own
    UTF-8 conversion, so a UTF-16 or Latin-1 feed hides nothing)."""
    from feedparser.encodings import convert_to_utf8

    try:
        data = convert_to_utf8({}, body, {})
    except Exception:  # noqa: BLE001 - an encoding feedparser cannot convert: look at the bytes as they are
        data = body
    data = _HIDING.sub(b"", data)
    end = _PROLOG_END.search(data)
    if _ENTITY_DECLARATION.search(data[: end.start() if end else len(data)]):
        raise FetchError(f"{url}: the feed declares XML entities (<!ENTITY ...>), which feeds do not need and which "
                         "can expand it many times over; refused")


def _feedparser_entries(parsed, url: str) -> tuple[str, list[Entry]]:
    if not parsed.entries and (parsed.bozo or not parsed.feed or not parsed.version):  # no version: a web page
        reason = getattr(parsed, "bozo_exception", None)
        raise FetchError(f"{url}: not an RSS, Atom or JSON feed" + (f" ({str(reason)[:120]})" if reason else ""))
    entries = []
    for e in parsed.entries:
        link = (e.get("link") or e.get("id") or "").strip()
        if not is_url(link):
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        date = time.strftime("%Y-%m-%d", stamp) if stamp else ""
        updated = e.get("updated") or e.get("published") or ""
        content = " ".join(c.get("value", "") for c in e.get("content", [])) or e.get("summary", "")
        entries.append(Entry(key=f"{link} {updated}".strip(), url=link, title=(e.get("title") or "").strip(),
                             published_at=date, author=(e.get("author") or "").strip(), text=_plain(content)))
    if parsed.bozo and not entries:  # broken, and nothing usable in it
        raise FetchError(f"{url}: not an RSS, Atom or JSON feed ({str(getattr(parsed, 'bozo_exception', ''))[:120]})")
    entries.sort(key=lambda x: x.published_at, reverse=True)
    return (parsed.feed.get("title") or "").strip(), entries


def _json_feed(body: bytes, url: str) -> tuple[str, list[Entry]]:
    """JSON Feed 1.0 / 1.1 (jsonfeed.org): `items` with `url`, `title`, `date_published`, `authors`.
    Every field is checked for its type: a hostile feed (an object for `authors`, a number for
    `items`, nesting deep enough to exhaust the parser) is this feed's error, never the poller's."""
    import json

    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise FetchError(f"{url}: not an RSS, Atom or JSON feed ({reason})") from None
    if not isinstance(data, dict) or not _text(data.get("version")).startswith("https://jsonfeed.org/version/"):
        raise FetchError(f"{url}: not an RSS, Atom or JSON feed (JSON without a jsonfeed.org version)")
    items = data.get("items")
    if items is not None and not isinstance(items, list):
        raise FetchError(f"{url}: a JSON Feed whose items are {type(items).__name__}, not a list")
    entries = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        link = (_text(item.get("url")) or _text(item.get("id"))).strip()
        if not is_url(link):
            continue
        updated = _text(item.get("date_modified")) or _text(item.get("date_published"))
        authors = item.get("authors")
        authors = authors if isinstance(authors, list) else [item.get("author")]
        author = next((_text(a.get("name")) for a in authors if isinstance(a, dict)), "")
        text = _text(item.get("content_text")) or _plain(_text(item.get("content_html")) or _text(item.get("summary")))
        entries.append(Entry(key=f"{link} {updated}".strip(), url=link, title=_text(item.get("title")).strip(),
                             published_at=_text(item.get("date_published"))[:10], author=author.strip(), text=text))
    entries.sort(key=lambda x: x.published_at, reverse=True)
    return _text(data.get("title")).strip(), entries


def _text(value) -> str:
    """A JSON Feed field that should be a string: anything else counts as absent."""
    return value if isinstance(value, str) else ""


def _plain(markup: str) -> str:
    """An entry's summary or content as text (feedparser has already sanitised its HTML)."""
    import html
    import re

    from newsbot.index.text.words import clean_text

    return clean_text(html.unescape(re.sub(r"<[^>]+>", " ", markup or "")))


FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")


def feed_links(html: bytes, base_url: str) -> list[str]:
    """The feeds a web page names in its head (`<link rel="alternate" type="application/rss+xml"
    href=…>`, the autodiscovery convention browsers and feed readers follow), as absolute URLs."""
    from urllib.parse import urljoin

    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    links: list[tuple[int, str]] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = urljoin(base_url, (link.get("href") or "").strip())
        if "alternate" in rel and kind in FEED_LINK_TYPES and is_url(href) and href not in (h for _, h in links):
            links.append((FEED_LINK_TYPES.index(kind), href))
    # feeds by kind, in page order within a kind: a WordPress page's application/json alternate is
    # its REST API, so it is tried only when nothing else is named
    return [href for _, href in sorted(links, key=lambda x: x[0])]


def discover(url: str, settings) -> tuple[str, str]:
    """(the feed's URL, its title) for a feed URL, or for a web page that names its feed; a clear
    error otherwise, before anything is stored. The same fetch rules as a poll."""
    def fetch(address: str):
        return fetch_feed(address, timeout_s=settings.fetch_timeout_s, max_bytes=settings.fetch_max_bytes,
                          allow_loopback=settings.allow_loopback_urls)

    fetched = fetch(url)
    try:
        title, entries = parse_entries(fetched.body, url)
        problem = None
    except FetchError as exc:
        title, entries, problem = "", [], exc
    if problem is None and entries:
        return url, title
    found = [link for link in feed_links(fetched.body, fetched.url or url) if link != url]
    if not found:
        if problem is None:
            return url, title  # a feed with no entries yet
        raise InputError(f"{problem}, and the page names no feed (<link rel=\"alternate\" "
                         "type=\"application/rss+xml\">); give the feed's own URL") from None
    title, _ = parse_entries(fetch(found[0]).body, found[0])
    return found[0], title


def follow(store: FeedStore, settings, namespace: str, url: str, actor: str = "", channel_id: int = 0) -> Feed:
    """Follow a feed, or the feed a web page names, after checking that it is one (the list and the
    cap are checked first, so a refused add costs no download)."""
    namespace, url = check_namespace(namespace), url.strip()
    store.check_room(namespace, url, settings.max_feeds)
    found, title = discover(url, settings)
    return store.add(namespace, found, actor=actor, max_feeds=settings.max_feeds, channel_id=channel_id,
                     interval_s=int(settings.feed_interval_min * 60), title=title)


def poll(engine, store: FeedStore, feed: Feed, max_per_poll: int = 50, now: float | None = None) -> Polled:
    """One poll of one feed: fetch (conditionally), index the entries not seen before, schedule the next.

    Whatever goes wrong with this feed (the fetch, the parse, a field of the wrong type, the size) is
    this feed's failure: recorded with its reason and backed off; it never stops a round of polls.
    Only a failure of the store itself (which every feed would meet) is raised."""
    now = time.time() if now is None else now
    settings = engine.settings
    try:
        fetched = fetch_feed(feed.url, etag=feed.etag, modified=feed.modified, timeout_s=settings.fetch_timeout_s,
                             max_bytes=settings.fetch_max_bytes, allow_loopback=settings.allow_loopback_urls)
        if fetched.status == 304:
            store.save(replace(feed, next_poll_at=_next(feed, now, ok=True), failures=0, last_error="",
                               last_polled_at=_now()))
            return Polled(feed.url, "not_modified")
        title, entries = parse_entries(fetched.body, feed.url)
    except (FetchError, InputError) as exc:
        return _failed(store, feed, now, str(exc))
    except Exception as exc:  # noqa: BLE001 - a hostile feed met a parser's limit or a bug: this feed's failure
        log.warning("feed %s of %s could not be read", feed.url, feed.namespace, exc_info=True)
        return _failed(store, feed, now, f"{feed.url}: unreadable feed ({exc.__class__.__name__}: {str(exc)[:160]})")
    seen = store.seen(feed, [e.key for e in entries])  # one query for the whole feed: a poll is linear in its entries
    fresh = [e for e in entries if e.key not in seen]
    result = Polled(feed.url, "new", skipped=max(0, len(fresh) - max_per_poll))
    for entry in fresh[:max_per_poll]:
        try:
            draft = _draft(engine, entry, title)
            [outcome] = engine.add([draft], namespace=feed.namespace, actor=f"feed:{feed.url}")
        except (StoreUnavailableError, StorageError):
            raise  # not this feed's fault: the round stops, and the feed is polled again when the store is back
        except Exception:  # noqa: BLE001 - one entry's failure is that entry's
            log.warning("feed %s: entry %s could not be added", feed.url, entry.url, exc_info=True)
            result.failed += 1
            continue
        if isinstance(outcome, AddError):
            result.failed += 1
            continue
        setattr(result, outcome.status, getattr(result, outcome.status) + 1)
        if outcome.status == "added":
            result.new_articles.append(outcome.article)
        store.mark_seen(feed, entry.key, outcome.article.id)
    store.save(replace(feed, title=title or feed.title, etag=fetched.etag, modified=fetched.last_modified, failures=0,
                       last_error="", last_polled_at=_now(), next_poll_at=_next(feed, now, ok=True),
                       articles=feed.articles + result.added))
    return result


def _failed(store: FeedStore, feed: Feed, now: float, reason: str) -> Polled:
    """Record a failed poll and back off: the next one waits twice as long each time, up to a day."""
    reason = reason or f"{feed.url}: the poll failed for an unknown reason"
    failures = feed.failures + 1
    store.save(replace(feed, failures=failures, last_error=reason[:300], last_polled_at=_now(),
                       next_poll_at=_next(replace(feed, failures=failures), now, ok=False)))
    return Polled(feed.url, "error", error=reason)


def _draft(engine, entry: Entry, feed_title: str) -> Draft | AddError:
    """The entry's page like `/add URL`, the feed's fields as fallbacks; its own text if the page fails."""
    page = engine.draft_from_url(entry.url)
    if isinstance(page, AddError):
        if len(entry.text) < MIN_ENTRY_CHARS:
            return page
        page = Draft(text=entry.text, url=entry.url, origin=entry.url)
    return replace(page, title=page.title or entry.title,
                   published_at=page.published_at or safe_date(entry.published_at),
                   source=page.source or entry.author or feed_title, url=entry.url)


def _next(feed: Feed, now: float, ok: bool) -> float:
    """The next poll: the interval with ±10% jitter (feeds of many servers don't all poll at once);
    after failures, doubling each time up to a day."""
    base = feed.interval_s if ok else min(MAX_BACKOFF_S, feed.interval_s * 2 ** min(feed.failures, 10))
    return now + base * random.uniform(0.9, 1.1)
