"""Feed polls against hostile sizes (security round three): how a poll's time grows with a feed's
entries (it was quadratic: 5k / 10k / 20k entries took 3.2 / 8.8 / 50.7 s, and 100k never ended),
and what an entity-amplification feed costs now that it is refused (it took 1.5 GB and 74 s).

    python benchmarks/bench_feeds.py
"""
from __future__ import annotations

import resource
import tempfile
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common  # noqa: F401 - puts the checkout on sys.path

from newsbot.index.engine import Engine
from newsbot.index.sources.feeds import FeedStore, parse_entries, poll
from newsbot.index.settings import Settings

BODIES: dict[str, bytes] = {}


class Site(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = BODIES.get(self.path, b"")
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def rss(entries: int) -> bytes:
    items = "".join(f"<item><title>Story {i}</title><link>https://example.com/news/{i}</link>"
                    f"<pubDate>Mon, 03 Mar 2025 08:00:00 GMT</pubDate></item>" for i in range(entries))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


def amplification(references: int = 850_000) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"x" * 1000}">]><rss version="2.0"><channel>'
            f'<title>t</title><item><title>s</title><link>https://example.com/a</link><description>{"&a;" * references}'
            '</description></item></channel></rss>').encode()


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings.load(), data_dir=Path(tmp) / "data", allow_loopback_urls=True,
                           fetch_max_bytes=20_000_000)
        with Engine(settings) as engine:
            store = FeedStore(settings.data_dir)
            print(f"{'entries':>8} {'MB':>6} {'first poll s':>13} {'second poll s':>14}")
            for n in (5_000, 10_000, 20_000, 100_000):
                BODIES[f"/{n}.xml"] = rss(n)
                feed = store.add("default", f"{base}/{n}.xml", max_feeds=100)
                t = time.perf_counter()
                poll(engine, store, feed, max_per_poll=0)  # the cost of reading and checking, no article pages
                first = time.perf_counter() - t
                t = time.perf_counter()
                poll(engine, store, store.get("default", feed.url), max_per_poll=0)
                print(f"{n:>8,} {len(BODIES[f'/{n}.xml']) / 1e6:>6.1f} {first:>13.2f} {time.perf_counter() - t:>14.2f}")
    body = amplification()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    try:
        parse_entries(body, "https://example.com/feed.xml")
        outcome = "parsed"
    except Exception as exc:  # noqa: BLE001
        outcome = str(exc)[:60]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"amplification feed {len(body) / 1e6:.1f} MB: {time.perf_counter() - t:.2f} s, peak RSS {after:.0f} MB "
          f"(+{max(0.0, after - before):.0f} MB): {outcome}")
    server.shutdown()


if __name__ == "__main__":
    main()
