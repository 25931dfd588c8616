"""A feed's bytes -> its title and entries (RSS 2.0, Atom by feedparser; JSON Feed), with XML entity
declarations refused before parsing; and the feeds an HTML page names."""
from __future__ import annotations

import re
import time
import warnings

from newsbot.index.errors import FetchError
from newsbot.index.sources.draft import is_url
from newsbot.index.sources.feeds.state import Entry


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
