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

import random
import time
from dataclasses import replace

from newsbot.index.errors import FetchError, InputError, StorageError, StoreUnavailableError
from newsbot.index.records import AddError
from newsbot.index.settings import check_namespace
from newsbot.index.sources.draft import Draft, safe_date
from newsbot.index.sources.feeds.parsing import feed_links, parse_entries
from newsbot.index.sources.feeds.state import MAX_BACKOFF_S, MIN_ENTRY_CHARS, Entry, Feed, FeedStore, Polled, _now, log
from newsbot.index.sources.fetch import fetch_feed


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
