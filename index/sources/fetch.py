"""Fetch a news page over HTTP(S): public addresses only, one deadline for the whole
fetch, a byte cap on what is decompressed, a few redirects, allowed content types.

Every hop is resolved first and refused unless all its addresses are public (no
loopback, private, link-local such as 169.254.169.254, multicast, reserved,
unspecified or site-local address; IPv4-mapped, 6to4 and NAT64 addresses are judged
by the IPv4 address they carry). The connection then goes to the address that was
checked (the Host header and TLS name stay the original host), so DNS cannot rebind
between the check and the connection. Redirects are followed by hand so that each
one is checked the same way.

The deadline covers resolving, connecting, the headers and the body together: a
server that trickles its headers a byte at a time is cut off like a slow body. The
fetch runs on httpx's async client under `asyncio.wait_for`, whose cancellation
closes the connection wherever it is.

Content-Encoding is decoded here, not by httpx, layer by layer with zlib's
`max_length`, so a small compressed body (a "gzip bomb", or gzip inside gzip) can
never expand past the byte cap in memory. At most two layers are accepted.
httpx does the HTTP; trafilatura (in loaders) does the extraction.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from newsbot.index.errors import FetchError
from newsbot.index.sources.draft import Draft
from newsbot.index.sources.loaders import draft_from_bytes

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/feed+json",
              "application/json", "application/rdf+xml", "text/plain", "text/html")
ENCODINGS = ("gzip", "x-gzip", "deflate")
MAX_ENCODING_LAYERS = 2
MAX_REDIRECTS = 5
USER_AGENT = "newsbot/0.1 (article indexer)"
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_6TO4 = ipaddress.ip_network("2002::/16")


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool = False) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _6TO4:
            return False  # 6to4 relays are obsolete; the address can wrap any IPv4 address, private ones included
        elif any(ip in net for net in _NAT64):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.is_site_local:
            return False
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def fetch_url(
    url: str, *, timeout_s: float = 20.0, max_bytes: int = 5_000_000, allow_loopback: bool = False, verify=True,
    max_chars: int | None = None,
) -> Draft:
    """Download `url` (streamed, capped in decompressed bytes and in total time) and extract its article.

    `verify` is httpx's: True (system CAs via certifi) or an ssl.SSLContext (a private CA).
    Blocking: call it from a worker thread (it runs its own event loop).
    """
    try:
        body, declared, final_url = asyncio.run(
            asyncio.wait_for(_fetch(url, max_bytes, allow_loopback, verify, timeout_s), timeout_s))
    except (TimeoutError, asyncio.TimeoutError):
        raise FetchError(f"{url}: no complete answer within {timeout_s:g} s; aborted") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch ({exc.__class__.__name__}: {exc})") from None
    except ValueError as exc:  # a malformed URL (bad port, unclosed bracket) that urlsplit or httpx refused
        raise FetchError(f"{url}: not a valid URL ({exc})") from None
    return draft_from_bytes(body, url, url=final_url, charset=declared, max_chars=max_chars)


@dataclass(frozen=True)
class Fetched:
    """A feed as fetched: its bytes (empty when 304 Not Modified) and its validators."""

    status: int
    body: bytes
    charset: str | None
    url: str
    etag: str = ""
    last_modified: str = ""


def fetch_feed(url: str, *, etag: str = "", modified: str = "", timeout_s: float = 20.0, max_bytes: int = 5_000_000,
               allow_loopback: bool = False, verify=True) -> Fetched:
    """Download a feed under the same rules as a page (public addresses, one deadline, a byte cap),
    conditionally: with the ETag / Last-Modified of the previous poll, an unchanged feed is a 304 and
    costs no body. Blocking."""
    conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v}
    try:
        return asyncio.run(asyncio.wait_for(
            _fetch(url, max_bytes, allow_loopback, verify, timeout_s, types=FEED_TYPES, extra=conditional, raw=True),
            timeout_s))
    except (TimeoutError, asyncio.TimeoutError):
        raise FetchError(f"{url}: no complete answer within {timeout_s:g} s; aborted") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch ({exc.__class__.__name__}: {exc})") from None
    except ValueError as exc:
        raise FetchError(f"{url}: not a valid URL ({exc})") from None


async def _fetch(url: str, max_bytes: int, allow_loopback: bool, verify, timeout_s: float,
                 types: tuple[str, ...] = ALLOWED_TYPES, extra: dict | None = None, raw: bool = False):
    current = url
    async with httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        headers={"User-Agent": USER_AGENT, "Accept": ", ".join(types), "Accept-Encoding": "gzip, deflate",
                 **(extra or {})},
        trust_env=False,
        verify=verify,
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
                raise FetchError(f"{current}: only http and https URLs are accepted")
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            ip = await _resolve_public(parts.hostname, port, allow_loopback)
            netloc = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
            pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
            host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
            request = client.build_request("GET", pinned, headers={"Host": host_header},
                                           extensions={"sni_hostname": parts.hostname})
            response = await client.send(request, stream=True)
            try:
                if raw and response.status_code == 304:  # before the redirect test: httpx counts every 3xx
                    return Fetched(304, b"", None, current, response.headers.get("etag", ""),
                                   response.headers.get("last-modified", ""))
                if response.is_redirect:
                    current = urljoin(current, response.headers.get("location", ""))
                    continue
                body, declared = await _read(response, url, max_bytes, types)
            finally:
                await response.aclose()
            if raw:
                return Fetched(response.status_code, body, declared, current, response.headers.get("etag", ""),
                               response.headers.get("last-modified", ""))
            return body, declared, current
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


async def _resolve_public(host: str, port: int, allow_loopback: bool) -> str:
    """The address to connect to; refuses a host any of whose addresses is not public.

    Resolved in a daemon thread: a resolver that hangs is abandoned at the deadline
    instead of holding the caller (the event loop's executor would be waited for)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def settle(setter, value) -> None:
        if not done.done():
            setter(value)

    def work() -> None:
        outcome: tuple[Callable[[Any], None], Any]
        try:
            result = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome = (done.set_result, result)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
            outcome = (done.set_exception, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the deadline passed and the loop is closed: nobody is waiting
            pass

    threading.Thread(target=work, name="newsbot-resolve", daemon=True).start()
    try:
        infos = await done
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r} ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        if not address_allowed(ip, allow_loopback):
            raise FetchError(f"refused: {host} resolves to {ip}, which is not a public address")
    if not addresses:
        raise FetchError(f"cannot resolve {host!r}")
    return str(sorted(addresses, key=lambda ip: ip.version)[0])  # IPv4 first: more hosts serve it


async def _read(response: httpx.Response, url: str, max_bytes: int,
                types: tuple[str, ...] = ALLOWED_TYPES) -> tuple[bytes, str | None]:
    if response.status_code >= 400:
        raise FetchError(f"{url}: the server answered HTTP {response.status_code}")
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in types:
        raise FetchError(f"{url}: unsupported content type {ctype!r}")
    declared = response.charset_encoding
    length = response.headers.get("content-length", "")
    encodings = content_encodings(response.headers.get("content-encoding", ""), url)
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{url}: page larger than {max_bytes:,} bytes; download aborted")
    decoder = CappedDecoder(encodings, max_bytes, url)
    body = bytearray()
    async for part in response.aiter_raw():
        body += decoder.feed(part)
    body += decoder.flush()
    return bytes(body), declared


def content_encodings(header: str, url: str) -> list[str]:
    """The layers of a Content-Encoding header, in the order they were applied; refuses
    unknown encodings and more than MAX_ENCODING_LAYERS layers."""
    layers = [e.strip().lower() for e in header.split(",") if e.strip() and e.strip().lower() != "identity"]
    unknown = [e for e in layers if e not in ENCODINGS]
    if unknown:
        raise FetchError(f"{url}: unsupported content encoding {unknown[0]!r}")
    if len(layers) > MAX_ENCODING_LAYERS:
        raise FetchError(f"{url}: {len(layers)} stacked content encodings; at most {MAX_ENCODING_LAYERS} are accepted")
    return layers


class CappedDecoder:
    """Undo Content-Encoding layers on a stream, never producing more than `max_bytes`
    at any layer (zlib's max_length bounds each call, so nothing expands unchecked)."""

    def __init__(self, encodings: list[str], max_bytes: int, url: str) -> None:
        self.layers = [_Inflater(e) for e in reversed(encodings)]
        self.max_bytes, self.url = max_bytes, url
        self.produced = [0] * (len(self.layers) + 1)

    def feed(self, data: bytes) -> bytes:
        for i, layer in enumerate(self.layers):
            data = self._count(i, layer.feed(data, self.max_bytes - self.produced[i]))
        return self._count(len(self.layers), data)

    def flush(self) -> bytes:
        data = b""
        for i, layer in enumerate(self.layers):
            data = self._count(i, layer.feed(data, self.max_bytes - self.produced[i]) + layer.flush())
        return self._count(len(self.layers), data) if self.layers else b""

    def _count(self, i: int, data: bytes) -> bytes:
        self.produced[i] += len(data)
        if self.produced[i] > self.max_bytes:
            raise FetchError(f"{self.url}: page larger than {self.max_bytes:,} bytes; download aborted")
        return data


class _Inflater:
    """One gzip or deflate layer (deflate as zlib-wrapped or raw, as browsers accept both)."""

    def __init__(self, encoding: str) -> None:
        self.raw_fallback = encoding == "deflate"
        self.obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        if not data or self.obj.eof:
            return b""
        try:
            out = self.obj.decompress(data, max(1, room + 1))
        except zlib.error:
            if not self.raw_fallback:
                raise FetchError("the page's compressed body is corrupt") from None
            self.raw_fallback = False
            self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        self.raw_fallback = False
        if len(out) > room or self.obj.unconsumed_tail:
            return out + b"\0"  # one byte past the room: the caller's count refuses it
        return out

    def flush(self) -> bytes:
        try:
            return self.obj.flush()
        except zlib.error:
            raise FetchError("the page's compressed body is corrupt") from None
