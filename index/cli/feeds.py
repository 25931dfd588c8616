"""`newsbot feed add|list|remove|poll`: the feeds a namespace follows. add, list and remove touch only
the feed list (they work while the bot runs); poll needs the engine."""
from __future__ import annotations

import json
import sys
import time

from newsbot.index.cli.shared import AddParser, Parents, cli_actor, shown
from newsbot.index.service.remote import RemoteEngine
from newsbot.index.sources.feeds import FeedStore, follow, poll


def register(add_parser: AddParser, parents: Parents) -> None:
    fd = add_parser(
        "feed",
        description="Feeds a namespace follows. `newsbot serve` polls them (every NEWSBOT_FEED_INTERVAL_MIN minutes, "
        "conditionally, backing off on errors); `newsbot feed poll` runs one round, for cron. Each entry's page "
        "is fetched and extracted like `newsbot add URL`; entries seen before are not embedded again.")
    actions = fd.add_subparsers(dest="feed_command", metavar="ACTION", required=True)
    fa = actions.add_parser("add", parents=[parents.common], help="follow a feed (or the feed a web page names)",
                            description="Fetch URL to check that it is an RSS, Atom or JSON feed, or a web page "
                            "naming one in its <link rel=\"alternate\">, then follow that feed.")
    fa.add_argument("url", help="the feed's URL, or a news site's page that names its feed")
    fa.set_defaults(handler=cmd_feed_add)
    actions.add_parser("list", parents=[parents.common, parents.json], help="the feeds followed, with their state"
                       ).set_defaults(handler=cmd_feed_list)
    fr = actions.add_parser("remove", parents=[parents.common], help="stop following a feed")
    fr.add_argument("url")
    fr.set_defaults(handler=cmd_feed_remove)
    fp = actions.add_parser("poll", parents=[parents.common, parents.json],
                            help="poll the feeds that are due (all of them with --all)")
    fp.add_argument("--all", action="store_true", help="poll every feed of every namespace now, due or not")
    fp.set_defaults(handler=cmd_feed_poll, opens_engine=True, writes="long")


def _with_store(settings, action) -> int:
    store = FeedStore(settings.data_dir)
    try:
        return action(store)
    finally:
        store.close()


def cmd_feed_add(settings, args) -> int:
    ns = args.namespace or settings.namespace

    def add(store) -> int:
        feed = follow(store, settings, ns, args.url, actor=cli_actor())
        if feed.url != args.url.strip():
            print(f"that page names its feed: {feed.url}")
        print(shown(f"following {feed.url} ({feed.title or 'untitled'}) in namespace {ns!r}; `newsbot serve` polls "
                    "it, or run `newsbot feed poll`"))
        return 0

    return _with_store(settings, add)


def cmd_feed_remove(settings, args) -> int:
    def remove(store) -> int:
        feed = store.remove(args.namespace or settings.namespace, args.url)
        print(f"no longer following {feed.url} ({feed.articles} articles it added stay)")
        return 0

    return _with_store(settings, remove)


def cmd_feed_list(settings, args) -> int:
    ns = args.namespace or settings.namespace

    def listing(store) -> int:
        feeds = store.list(ns)
        if args.json:
            print(json.dumps([f.to_dict() for f in feeds], ensure_ascii=False, indent=2))
            return 0
        if not feeds:
            print(f"namespace {ns!r} follows no feed; add one with `newsbot feed add URL`")
        for f in feeds:
            state = (f"error: {f.last_error}" if f.last_error
                     else f"polled {f.last_polled_at}" if f.last_polled_at else "not polled yet")
            print(shown(f"{f.url}  {f.title or '(untitled)'}  {f.articles} articles  {state}"))
        return 0

    return _with_store(settings, listing)


def cmd_feed_poll(engine, ns: str, args) -> int:
    if isinstance(engine, RemoteEngine):
        print("`newsbot serve` holds this index and polls its feeds itself", file=sys.stderr)
        return 0

    def poll_due(store) -> int:
        feeds = store.list() if args.all else store.due(time.time())
        failed = 0
        for feed in feeds:
            result = poll(engine, store, feed, engine.settings.feed_max_per_poll)
            failed += result.status == "error"
            if args.json:
                print(json.dumps(result.to_dict(), ensure_ascii=False))
            else:
                detail = result.error if result.status == "error" else (
                    f"{result.added} added, {result.replaced} replaced, {result.duplicate} already indexed, "
                    f"{result.failed} failed"
                    + (f", {result.skipped} left for the next poll" if result.skipped else ""))
                print(shown(f"{feed.namespace}  {feed.url}: {result.status.replace('_', ' ')}; {detail}"))
        if not feeds:
            print("no feed is due (newsbot feed poll --all polls them anyway)", file=sys.stderr)
        return 1 if failed else 0

    return _with_store(engine.settings, poll_due)
