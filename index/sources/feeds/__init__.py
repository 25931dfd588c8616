"""Feeds a namespace follows: `state` (feeds.sqlite), `parsing` (a feed's bytes -> entries; the
feeds a page names) and `polling` (following one, polling it into the engine). The names front
ends use are here."""
from newsbot.index.sources.feeds.parsing import feed_links, parse_entries
from newsbot.index.sources.feeds.polling import discover, follow, poll
from newsbot.index.sources.feeds.state import Entry, Feed, FeedStore, Polled

__all__ = ["Entry", "Feed", "FeedStore", "Polled", "discover", "feed_links", "follow", "parse_entries", "poll"]
