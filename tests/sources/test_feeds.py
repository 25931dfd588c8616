"""Feeds served on 127.0.0.1: RSS, Atom and JSON Feed; 304 Not Modified; a feed that grows; a
malformed one; a private address; 10,000 entries; a restart between polls; the CLI."""
from __future__ import annotations

import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

import pytest

from conftest import run_cli
from newsbot.index.sources.feeds import FeedStore, parse_entries, poll
from support.servers import QuietServer

STORIES = [
    ("surabaya-buses", "Surabaya opens its first electric bus line", "2025-03-03",
     "The city of Surabaya opened its first electric bus line on Monday, with 20 buses running between the airport "
     "and the city centre, the transport agency said. Tickets cost 5,000 rupiah for the first month."),
    ("bandung-lane", "Bandung opens a riverside cycle lane", "2025-03-04",
     "Bandung opened a 12-kilometre cycle lane along the Cikapundung river on Tuesday, the mayor's office said. "
     "The lane links four districts and cost 40 billion rupiah to build."),
    ("semarang-pumps", "Semarang adds flood pumps before the rainy peak", "2025-03-05",
     "Semarang installed six new flood pumps in its northern districts on Wednesday, the city said, after "
     "floods closed the coastal toll road twice in February."),
]


def page(title: str, body: str) -> bytes:
    return (f"<html><head><title>{escape(title)}</title></head><body><article><h1>{escape(title)}</h1>"
            f"<p>{escape(body)}</p><p>{escape(body)}</p></article></body></html>").encode()


def rss(stories, base: str) -> bytes:
    items = "".join(f"<item><title>{escape(t)}</title><link>{base}/news/{slug}</link>"
                    f"<pubDate>{formatdate(0)[:5]}{d[8:10]} {['Jan','Feb','Mar'][int(d[5:7]) - 1]} {d[:4]} 08:00:00 GMT</pubDate>"
                    f"<author>desk@kota.example (Kota Desk)</author></item>" for slug, t, d, _ in stories)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Kota News</title>{items}</channel></rss>'.encode()


def atom(stories, base: str) -> bytes:
    entries = "".join(f"<entry><title>{escape(t)}</title><link href='{base}/news/{slug}'/><id>{base}/news/{slug}</id>"
                      f"<updated>{d}T08:00:00Z</updated></entry>" for slug, t, d, _ in stories)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Kota Atom</title>'
            f"<updated>2025-03-05T08:00:00Z</updated>{entries}</feed>").encode()


def json_feed(stories, base: str) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Kota JSON", "items": [
        {"id": f"{base}/news/{slug}", "url": f"{base}/news/{slug}", "title": t, "date_published": f"{d}T08:00:00Z"}
        for slug, t, d, _ in stories]}).encode()


class FeedSite(BaseHTTPRequestHandler):
    routes: dict[str, tuple[str, bytes]] = {}
    hits: list[tuple[str, str]] = []
    page_delay_s = 0.0  # a slow site: each article page waits this long

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/news/") and self.page_delay_s:
            time.sleep(self.page_delay_s)
        ctype, body = self.routes.get(self.path, ("text/plain", b""))
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        self.hits.append((self.path, self.headers.get("If-None-Match", "")))
        if not body:
            self.send_response(404)
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def kota():
    server = QuietServer(("127.0.0.1", 0), FeedSite)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    FeedSite.routes = {f"/news/{slug}": ("text/html; charset=utf-8", page(t, b)) for slug, t, _, b in STORIES}
    FeedSite.hits = []
    FeedSite.page_delay_s = 0.0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()


def serve(base: str, path: str, ctype: str, body: bytes) -> str:
    FeedSite.routes[path] = (ctype, body)
    return base + path


@pytest.mark.parametrize("kind", ["rss", "atom", "json"])
def test_each_kind_of_feed_adds_its_entries_with_their_dates(engine, kota, kind):
    maker, ctype = {"rss": (rss, "application/rss+xml"), "atom": (atom, "application/atom+xml"),
                    "json": (json_feed, "application/feed+json")}[kind]
    url = serve(kota, f"/feed.{kind}", ctype, maker(STORIES, kota))
    store = FeedStore(engine.settings.data_dir)
    feed = store.add("default", url)
    result = poll(engine, store, feed)
    assert (result.status, result.added, result.failed) == ("new", 3, 0), result
    dated = {a.title: a.published_at for a in engine.sources()}
    assert dated["Surabaya opens its first electric bus line"] == "2025-03-03"
    assert store.list("default")[0].title.startswith("Kota")


def test_an_unchanged_feed_is_a_304_and_a_grown_feed_adds_only_the_new_entry(engine, kota):
    url = serve(kota, "/feed.xml", "application/rss+xml", rss(STORIES[:2], kota))
    store = FeedStore(engine.settings.data_dir)
    feed = store.add("default", url)
    assert poll(engine, store, feed).added == 2
    assert poll(engine, store, store.get("default", url)).status == "not_modified"
    assert FeedSite.hits[-1][1], "the second poll sent the ETag"
    serve(kota, "/feed.xml", "application/rss+xml", rss(STORIES, kota))
    page_fetches = len([h for h in FeedSite.hits if h[0].startswith("/news/")])
    grown = poll(engine, store, store.get("default", url))
    assert (grown.status, grown.added, grown.duplicate) == ("new", 1, 0)
    assert len([h for h in FeedSite.hits if h[0].startswith("/news/")]) == page_fetches + 1, "seen entries not fetched again"
    assert len(engine.sources()) == 3


def test_the_same_story_under_another_link_is_a_duplicate_and_is_not_embedded_again(engine, kota):
    store = FeedStore(engine.settings.data_dir)
    assert poll(engine, store, store.add("default", serve(kota, "/feed.xml", "application/rss+xml",
                                                          rss(STORIES, kota)))).added == 3
    slug, title, day, body = STORIES[0]
    FeedSite.routes["/news/syndicated-buses"] = FeedSite.routes[f"/news/{slug}"]  # a partner republishes it
    mirror = serve(kota, "/partner.xml", "application/rss+xml", rss([("syndicated-buses", title, day, body)], kota))
    embedded = engine.embedder.stats["embedded"]
    result = poll(engine, store, store.add("default", mirror))
    assert (result.added, result.duplicate) == (0, 1)
    assert engine.embedder.stats["embedded"] == embedded and len(engine.sources()) == 3


def test_a_restart_between_polls_keeps_the_feed_its_etag_and_what_it_saw(engine, kota, settings):
    url = serve(kota, "/feed.atom", "application/atom+xml", atom(STORIES, kota))
    store = FeedStore(settings.data_dir)
    poll(engine, store, store.add("default", url))
    store.close()
    engine.close()
    done = run_cli(["feed", "poll", "--all", "--json"], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "not_modified"
    listed = json.loads(run_cli(["feed", "list", "--json"], settings).stdout)
    assert listed[0]["url"] == url and listed[0]["articles"] == 3 and listed[0]["etag"]


def test_a_malformed_feed_is_an_error_that_backs_off(engine, kota):
    url = serve(kota, "/broken.xml", "application/rss+xml", b"<rss><channel><item><title>half")
    store = FeedStore(engine.settings.data_dir)
    feed = store.add("default", url, interval_s=60)
    first = poll(engine, store, feed, now=1000.0)
    assert first.status == "error" and "not an RSS, Atom or JSON feed" in first.error
    again = poll(engine, store, store.get("default", url), now=1000.0)
    state = store.get("default", url)
    assert again.status == "error" and state.failures == 2 and state.next_poll_at >= 1000.0 + 60 * 4 * 0.9
    assert engine.sources() == []


def test_a_feed_at_a_private_address_is_refused(tmp_path, cache_dir):
    from dataclasses import replace

    from conftest import make_settings
    from newsbot.index.engine import Engine

    strict = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir)  # loopback not allowed, as in production
    with Engine(strict) as engine:
        store = FeedStore(strict.data_dir)
        result = poll(engine, store, store.add("default", "http://169.254.169.254/latest/feed.xml"))
        assert result.status == "error" and "not a public address" in result.error
        assert replace(strict).allow_loopback_urls is False


@pytest.mark.drill
def test_a_feed_of_ten_thousand_entries_is_capped_per_poll(engine, kota):
    many = [(f"story-{i}", f"Story number {i}", "2025-03-01", "") for i in range(10_000)]
    FeedSite.routes.update({f"/news/story-{i}": ("text/html", page(f"Story number {i}",
                            f"District {i} reported that {i * 3} households received new water pipes this month, "
                            f"while repairs on reservoir {i % 7} continued, officials said.")) for i in range(20)})
    url = serve(kota, "/big.xml", "application/rss+xml", rss(many, kota))
    store = FeedStore(engine.settings.data_dir)
    result = poll(engine, store, store.add("default", url), max_per_poll=5)
    assert (result.added, result.skipped) == (5, 9_995)
    assert poll(engine, store, store.get("default", url), max_per_poll=5).status == "not_modified"


@pytest.mark.drill
def test_reading_a_feed_of_ten_thousand_entries_holds_memory_to_a_few_times_its_size(engine, kota):
    """The byte cap bounds the download; parsing and the per-poll cap bound what is held."""
    import tracemalloc

    many = [(f"story-{i}", f"Story number {i} about reservoir repairs", "2025-03-01", "") for i in range(10_000)]
    body = rss(many, kota)
    url = serve(kota, "/big.xml", "application/rss+xml", body)
    store = FeedStore(engine.settings.data_dir)
    feed = store.add("default", url)
    tracemalloc.start()
    try:
        poll(engine, store, feed, max_per_poll=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * len(body), f"{peak / 1e6:.1f} MB held for a {len(body) / 1e6:.1f} MB feed"


def test_a_feed_larger_than_the_byte_cap_is_an_error_and_adds_nothing(tmp_path, cache_dir, kota):
    from conftest import make_settings
    from newsbot.index.engine import Engine

    capped = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, allow_loopback_urls=True,
                           fetch_max_bytes=100_000)
    many = [(f"story-{i}", f"Story number {i}", "2025-03-01", "") for i in range(10_000)]
    url = serve(kota, "/huge.xml", "application/rss+xml", rss(many, kota))
    with Engine(capped) as engine:
        store = FeedStore(capped.data_dir)
        result = poll(engine, store, store.add("default", url))
        assert result.status == "error" and "larger than 100,000 bytes" in result.error
        assert engine.sources() == [] and store.get("default", url).failures == 1


def test_the_cli_adds_lists_and_removes_feeds_and_refuses_bad_ones(settings, kota):
    url = serve(kota, "/feed.json", "application/feed+json", json_feed(STORIES, kota))
    added = run_cli(["feed", "add", url], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert added.returncode == 0 and "(Kota JSON)" in added.stdout.decode(), added.stderr
    again = run_cli(["feed", "add", url], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert again.returncode == 1 and "already follows" in again.stderr.decode()
    assert "not an http(s) URL" in run_cli(["feed", "add", "/etc/passwd"], settings).stderr.decode()
    polled = run_cli(["feed", "poll"], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert polled.returncode == 0 and "3 added" in polled.stdout.decode()
    assert "Kota JSON" in run_cli(["feed", "list"], settings).stdout.decode()
    assert run_cli(["feed", "remove", url], settings).returncode == 0
    assert "follows no feed" in run_cli(["feed", "list"], settings).stdout.decode()


HOME = (b'<!doctype html><html><head><title>Kota News</title>'
        b'<link rel="alternate" type="application/rss+xml" title="Kota News" href="/rss.xml"></head>'
        b'<body><h1>Kota News</h1><p>Today in the city.</p></body></html>')


def test_a_news_sites_page_is_followed_by_the_feed_it_names(settings, kota):
    serve(kota, "/rss.xml", "application/rss+xml", rss(STORIES, kota))
    home = serve(kota, "/home", "text/html; charset=utf-8", HOME)
    added = run_cli(["feed", "add", home], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert added.returncode == 0, added.stderr
    assert f"that page names its feed: {kota}/rss.xml" in added.stdout.decode()
    listed = json.loads(run_cli(["feed", "list", "--json"], settings).stdout)
    assert [(f["url"], f["title"]) for f in listed] == [(f"{kota}/rss.xml", "Kota News")]


def test_a_pages_feed_links_prefer_feeds_to_other_alternates_and_resolve_relative_links():
    from newsbot.index.sources.feeds import feed_links

    page = (b'<html><head><link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/7">'
            b'<link rel="alternate" type="application/json+oembed" href="/oembed?url=x">'
            b'<link rel="stylesheet" type="text/css" href="/site.css">'
            b'<link rel="alternate" type="application/atom+xml" href="atom.xml">'
            b'<link rel="alternate" type="application/rss+xml" href="https://kota.example/rss">'
            b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)"></head></html>')
    assert feed_links(page, "https://kota.example/news/today") == [
        "https://kota.example/rss", "https://kota.example/news/atom.xml", "https://kota.example/wp-json/wp/v2/posts/7"]
    assert feed_links(b"", "https://kota.example/") == [] and feed_links(b"\x00\xff", "https://kota.example/") == []


def test_a_page_that_is_not_a_feed_and_names_none_is_refused_before_anything_is_stored(settings, kota):
    page_url = serve(kota, "/about", "text/html; charset=utf-8", b"<html><head><title>About</title></head><body>Us</body></html>")
    refused = run_cli(["feed", "add", page_url], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert refused.returncode == 1 and "not an RSS, Atom or JSON feed" in refused.stderr.decode()
    assert "the page names no feed" in refused.stderr.decode()
    missing = run_cli(["feed", "add", f"{kota}/no-such-feed.xml"], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert missing.returncode == 1 and "404" in missing.stderr.decode()
    private = run_cli(["feed", "add", "http://169.254.169.254/latest/feed.xml"], settings)
    assert private.returncode == 1 and "not a public address" in private.stderr.decode()
    assert "follows no feed" in run_cli(["feed", "list"], settings).stdout.decode()


def test_entries_are_read_newest_first_and_keyed_by_link_and_update_time():
    title, entries = parse_entries(atom(STORIES, "https://kota.example"), "https://kota.example/feed")
    assert title == "Kota Atom" and [e.published_at for e in entries] == ["2025-03-05", "2025-03-04", "2025-03-03"]
    assert entries[0].key == "https://kota.example/news/semarang-pumps 2025-03-05T08:00:00Z"


def test_an_admin_follows_a_feed_from_discord_and_the_bot_polls_it_without_missing_a_heartbeat(tmp_path, cache_dir, kota):
    from conftest import make_settings
    from newsbot.bot.settings import BotSettings
    from newsbot.index.engine import Engine
    from support.bot_harness import Harness

    engine = Engine(make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, allow_loopback_urls=True))
    h = Harness(engine, BotSettings(token="unused", ask_rate=1000, feed_check_s=0.2)).start()
    try:
        schema = next(c for c in h.fake.global_commands if c["name"] == "feed")
        assert schema["name_localizations"] == {"id": "umpan"} and int(schema["default_member_permissions"]) == 1 << 5
        about = serve(kota, "/about", "text/html", b"<html><head><title>About</title></head><body>Us</body></html>")
        refused = h.fake.slash(h.gid, h.admin, "feed", {"add": {"url": about}})
        assert "the page names no feed" in h.fake.wait_reply(refused)["content"] and refused.ephemeral
        url = serve(kota, "/feed.xml", "application/rss+xml", rss(STORIES, kota))
        start = time.monotonic()
        added = h.fake.slash(h.gid, h.admin, "feed", {"add": {"url": url, "post_here": True}})
        confirmed = h.fake.wait_reply(added)["content"]  # deferred while the URL is checked, then a followup
        assert confirmed.startswith(f"Following {url}") and added.ephemeral
        assert confirmed.endswith("New articles will be announced in this channel.")
        ns = f"guild-{h.gid}"
        h.fake.wait_until(lambda: len([a for a in engine.sources(ns) if a.title in {t for _, t, _, _ in STORIES}]) == 3,
                          60, "the bot to poll the feed")
        took = time.monotonic() - start
        announced = h.fake.wait_until(lambda: len([m for m in h.fake.channel_messages
                                                   if m["content"].startswith("New from Kota News: **")]) == 3 and
                                      [m for m in h.fake.channel_messages if m["content"].startswith("New from")],
                                      30, "three announcements")
        assert all(m["channel_id"] == h.guild["channels"][0]["id"] for m in announced)
        assert any("**Semarang adds flood pumps before the rainy peak** (5 March 2025)" in m["content"] for m in announced)
        beats = [t for t in h.fake.heartbeats if start <= t <= start + took]
        interval = h.fake.heartbeat_interval_ms / 1000
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        assert not gaps or max(gaps) < 1.5 * interval, "the gateway heartbeat kept its time during the poll"
        listed = h.fake.slash(h.gid, h.admin, "feed", {"list": {}}, locale="id")
        h.fake.wait_until(lambda: listed.response, 10, "the list")
        assert "Kota News: 3 artikel, diperiksa" in listed.original["content"]
        refused = h.fake.slash(h.gid, h.member, "feed", {"list": {}})
        h.fake.wait_until(lambda: refused.response, 10, "the refusal")
        assert "Only members with Manage Server" in refused.original["content"]
        assert h.crashed is None and h.fake.unknown_routes == []
    finally:
        h.stop()
        engine.close()


@pytest.mark.drill
def test_a_poll_killed_half_way_loses_nothing_and_duplicates_nothing(settings, kota):
    """SIGKILL `newsbot feed poll` after its first article; the next poll indexes each article once."""
    import signal
    import subprocess
    import sys

    from conftest import cli_env
    from newsbot.index.storage import audit
    from newsbot.index.engine import Engine

    url = serve(kota, "/feed.xml", "application/rss+xml", rss(STORIES, kota))
    assert run_cli(["feed", "add", url], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true").returncode == 0
    FeedSite.page_delay_s = 1.5
    poller = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "feed", "poll"],
                              env=cli_env(settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not audit.read(settings.data_dir, "default") and time.monotonic() < deadline:
        time.sleep(0.05)
    poller.send_signal(signal.SIGKILL)
    poller.wait(30)
    first = [e["article_id"] for e in audit.read(settings.data_dir, "default") if e.get("status") == "added"]
    assert 1 <= len(first) < 3, "killed half-way"
    FeedSite.page_delay_s = 0.0
    done = run_cli(["feed", "poll", "--all", "--json"], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    assert done.returncode == 0, done.stderr
    with Engine(settings) as engine:
        titles = sorted(a.title for a in engine.sources())
        chunks = {cid.split("#")[0] for cid, _, _ in engine.store().iter_chunks()}
    assert titles == sorted(t for _, t, _, _ in STORIES), "every article once"
    assert len(chunks) == 3, "no chunk of an article twice"


def test_an_entry_the_feed_marks_updated_is_fetched_again_and_replaces_its_article(engine, kota):
    url = serve(kota, "/feed.atom", "application/atom+xml", atom(STORIES[:1], kota))
    store = FeedStore(engine.settings.data_dir)
    assert poll(engine, store, store.add("default", url)).added == 1
    slug, title, _, body = STORIES[0]
    FeedSite.routes[f"/news/{slug}"] = ("text/html", page(title, body + " The line will extend to Gresik next year."))
    serve(kota, "/feed.atom", "application/atom+xml", atom([(slug, title, "2025-03-06", body)], kota))
    again = poll(engine, store, store.get("default", url))
    assert (again.added, again.replaced) == (0, 1)
    [article] = engine.sources()
    assert "extend to Gresik" in engine.article(article.id).text


# ------------------------------------------------------------------ hostile feeds (security round three)

HOSTILE_JSON_FEEDS = {
    "authors is an object": json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
        {"url": "https://example.com/a", "title": "A", "authors": {"name": "x"}}]}).encode(),
    "items is a number": json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": 5}).encode(),
    "nested 100,000 deep": (b'{"version": "https://jsonfeed.org/version/1.1", "items": [' + b"[" * 100_000
                            + b"]" * 100_000 + b"]}"),
    "a title that is a list": json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": [1],
                                          "items": [{"url": ["x"], "title": {"a": 1}, "date_published": 7}]}).encode(),
}


@pytest.mark.parametrize("kind", list(HOSTILE_JSON_FEEDS))
def test_a_hostile_json_feed_is_that_feeds_failure_and_every_other_feed_is_still_polled(settings, kota, kind):
    hostile = serve(kota, "/hostile.json", "application/feed+json", HOSTILE_JSON_FEEDS[kind])
    good = serve(kota, "/good.xml", "application/rss+xml", rss(STORIES, kota))
    store = FeedStore(settings.data_dir)
    store.add("aaa", hostile)  # sorted first: before the fix its error stopped the round here
    store.add("zzz", good)
    store.close()
    done = run_cli(["feed", "poll", "--all", "--json"], settings, NEWSBOT_ALLOW_LOOPBACK_URLS="true")
    results = {r["feed"]: r for r in map(json.loads, done.stdout.decode().splitlines())}
    assert results[good]["added"] == 3, done.stderr.decode()
    if results[hostile]["status"] == "error":  # or it is a feed of no usable entries: either way not the poller's end
        assert results[hostile]["error"] and "Traceback" not in done.stderr.decode()
        state = FeedStore(settings.data_dir).get("aaa", hostile)
        assert state.failures == 1 and state.last_error and state.next_poll_at > time.time()


def test_a_feed_that_turns_hostile_after_it_was_added_is_backed_off_with_its_reason(engine, kota):
    url = serve(kota, "/turns.json", "application/feed+json", json_feed(STORIES[:1], kota))
    store = FeedStore(engine.settings.data_dir)
    assert poll(engine, store, store.add("default", url)).added == 1
    serve(kota, "/turns.json", "application/feed+json", HOSTILE_JSON_FEEDS["items is a number"])
    result = poll(engine, store, store.get("default", url), now=1000.0)
    assert result.status == "error" and "items are int" in result.error
    assert store.get("default", url).next_poll_at > 1000.0


def test_a_poll_asks_the_state_database_once_for_what_it_has_seen_whatever_the_feeds_length(engine, kota):
    """Quadratic before: one query per entry (20k entries took 50 s, 100k never ended)."""
    def seen_queries(entries: int) -> int:
        many = [(f"q{entries}-{i}", f"Story {i}", "2025-03-01", "") for i in range(entries)]
        url = serve(kota, f"/many-{entries}.xml", "application/rss+xml", rss(many, kota))
        store = FeedStore(engine.settings.data_dir)
        feed = store.add("default", url)
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        poll(engine, store, feed, max_per_poll=0)
        return sum("FROM seen" in s for s in statements)

    assert seen_queries(10) == seen_queries(2_000) == 1


def amplified_feed(entity_chars: int, references: int, encoding: str = "utf-8") -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE rss [<!ENTITY a "{"x" * entity_chars}">]>'
    body = (f'<rss version="2.0"><channel><title>t</title><item><title>s</title><link>https://example.com/a</link>'
            f'<description>{"&a;" * references}</description></item></channel></rss>')
    return (head + body).encode(encoding)


def test_a_feed_declaring_entities_is_refused_in_bounded_time_and_memory():
    """Internal entities expanded ~100x inside the byte cap (2.5 MB: 1.5 GB and 74 s at every poll)."""
    import tracemalloc

    body = amplified_feed(1000, 850_000)
    assert len(body) > 2_500_000
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as refused:
            parse_entries(body, "https://example.com/feed.xml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "declares XML entities" in str(refused.value)
    assert peak < 100e6, f"{peak / 1e6:.0f} MB"


def test_a_comment_before_the_doctype_cannot_hide_its_entity_declarations():
    body = amplified_feed(10, 10).replace(b"<!DOCTYPE", b"<!-- <rss> --><?pi <x ?><!DOCTYPE", 1)
    with pytest.raises(Exception, match="declares XML entities"):
        parse_entries(body, "https://example.com/feed.xml")


def test_a_utf16_feed_cannot_hide_its_entity_declarations():
    with pytest.raises(Exception, match="declares XML entities"):
        parse_entries(amplified_feed(10, 10, "utf-16"), "https://example.com/feed.xml")


def test_entries_with_impossible_dates_are_added_undated_and_the_poll_succeeds(engine, kota):
    stories = [("surabaya-buses", STORIES[0][1], "0000-00-00", ""), ("bandung-lane", STORIES[1][1], "9999-12-31", "")]
    feed_body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Kota", "items": [
        {"url": f"{kota}/news/{slug}", "title": t, "date_published": d} for slug, t, d, _ in stories]}).encode()
    url = serve(kota, "/dates.json", "application/feed+json", feed_body)
    store = FeedStore(engine.settings.data_dir)
    result = poll(engine, store, store.add("default", url))
    assert (result.status, result.added, result.failed) == ("new", 2, 0), result
    assert {a.published_at for a in engine.sources()} == {""}
