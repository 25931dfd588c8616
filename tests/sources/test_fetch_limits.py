"""Fetch limits that a hostile server must not get past: the deadline covers the headers
too, the byte cap applies to what is decompressed, and odd addresses and URLs are refused.

The servers here are raw sockets on 127.0.0.1, so they can misbehave in ways
http.server would not (headers a byte at a time, stacked encodings)."""
from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib

import pytest

from newsbot.index.errors import FetchError
from newsbot.index.sources.fetch import fetch_url

PAGE = (b"<html><head><title>Port strike ends</title></head><body><article><p>"
        + b"Dock workers in Rotterdam ended a three-day strike on Tuesday after the port authority agreed to a pay rise. " * 20
        + b"</p></article></body></html>")


class RawServer:
    """Accepts connections on 127.0.0.1 and answers each with `respond(conn)`; records how each ended."""

    def __init__(self, respond) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.respond = respond
        self.client_gone_at: list[float] = []
        self.finished: list[bool] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/story"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.recv(65536)
        try:
            self.respond(conn)
            self.finished.append(True)
        except OSError:
            self.client_gone_at.append(time.monotonic())
            self.finished.append(False)
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def answer(body: bytes, encoding: str = "", ctype: str = "text/html; charset=utf-8"):
    def respond(conn: socket.socket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        if encoding:
            head += f"Content-Encoding: {encoding}\r\n"
        conn.sendall(head.encode() + b"\r\n" + body)
    return respond


@pytest.fixture
def serve():
    servers: list[RawServer] = []

    def start(respond) -> RawServer:
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_a_gzip_page_is_decoded(serve):
    server = serve(answer(gzip.compress(PAGE), "gzip"))
    assert "three-day strike" in fetch_url(server.url, allow_loopback=True).text


def test_a_deflate_page_is_decoded_whether_zlib_wrapped_or_raw(serve):
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for body in (zlib.compress(PAGE), raw.compress(PAGE) + raw.flush()):
        server = serve(answer(body, "deflate"))
        assert "three-day strike" in fetch_url(server.url, allow_loopback=True).text


def test_gzip_inside_gzip_is_capped_as_it_decompresses(serve):
    """6.8 kB on the wire that would expand to gigabytes: refused once the cap is passed, layer by layer."""
    bomb = gzip.compress(gzip.compress(b"\0" * 200_000_000, compresslevel=9), compresslevel=9)
    assert len(bomb) < 300_000
    server = serve(answer(bomb, "gzip, gzip"))
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than 1,000,000 bytes"):
            fetch_url(server.url, allow_loopback=True, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak:,} bytes allocated: the body was expanded before the cap was checked"


def test_more_than_two_stacked_encodings_are_refused(serve):
    server = serve(answer(gzip.compress(gzip.compress(gzip.compress(PAGE))), "gzip, gzip, gzip"))
    with pytest.raises(FetchError, match="3 stacked content encodings"):
        fetch_url(server.url, allow_loopback=True)


def test_an_unknown_encoding_is_refused(serve):
    server = serve(answer(PAGE, "br"))
    with pytest.raises(FetchError, match="unsupported content encoding 'br'"):
        fetch_url(server.url, allow_loopback=True)


def test_headers_sent_a_byte_at_a_time_do_not_outlive_the_deadline(serve):
    """The server needs 60 s for its headers; the fetch gives up at its 2 s deadline and hangs up."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 120 + b"\r\n\r\n"

    def trickle(conn: socket.socket) -> None:
        for byte in head:
            conn.sendall(bytes([byte]))
            time.sleep(0.5)

    server = serve(trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer within 2 s"):
        fetch_url(server.url, allow_loopback=True, timeout_s=2)
    deadline = time.monotonic() + 10
    while not server.finished and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.finished == [False], "the client hung up before the server finished its headers"
    assert server.client_gone_at[0] - started < len(head) * 0.5 / 2


def test_a_body_that_never_ends_is_cut_at_the_deadline(serve):
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        for _ in range(600):
            conn.sendall(b"Dock workers went on strike again. ")
            time.sleep(0.1)

    server = serve(endless)
    with pytest.raises(FetchError, match="no complete answer within 2 s"):
        fetch_url(server.url, allow_loopback=True, timeout_s=2)


@pytest.mark.parametrize("url", [
    "http://[2002:7f00:1::1]/",  # 6to4 wrapping 127.0.0.1
    "http://[2002:c0a8:101::1]/",  # 6to4 wrapping 192.168.1.1
    "http://[fec0::1]/",  # site-local
    "http://[64:ff9b::a00:5]/",  # NAT64 wrapping 10.0.0.5
    "http://[2001::1]/",  # Teredo
])
def test_ipv6_addresses_that_wrap_private_ones_are_refused(url):
    with pytest.raises(FetchError, match="not a public address"):
        fetch_url(url, timeout_s=3)


@pytest.mark.parametrize("url", ["http://[::1", "http://example.com:99999/", "http://example.com:port/", "https:///nohost"])
def test_malformed_urls_are_a_clear_error(url):
    with pytest.raises(FetchError, match="not a valid URL|only http and https"):
        fetch_url(url, timeout_s=3)
