"""Fetch a news page over HTTP(S): public addresses only, timeouts, a byte cap, a few
redirects, allowed content types.

Every hop is resolved first and refused unless all its addresses are public (no
loopback, private, link-local such as 169.254.169.254, multicast, reserved or
unspecified address, IPv4 or IPv6, IPv4-mapped included). The connection then goes
to the address that was checked (the Host header and TLS name stay the original
host), so DNS cannot rebind between the check and the connection. Redirects are
followed by hand so that each one is checked the same way.
httpx does the HTTP; trafilatura (in loaders) does the extraction.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from .errors import FetchError
from .loaders import Draft, draft_from_bytes

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf")
MAX_REDIRECTS = 5
USER_AGENT = "newsbot/0.1 (article indexer)"


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in {"http", "https"}


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool = False) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def resolve_public(host: str, port: int, allow_loopback: bool = False) -> str:
    """The address to connect to; refuses a host any of whose addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r} ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        if not address_allowed(ip, allow_loopback):
            raise FetchError(f"refused: {host} resolves to {ip}, which is not a public address")
    if not addresses:
        raise FetchError(f"cannot resolve {host!r}")
    return str(sorted(addresses, key=lambda ip: ip.version)[0])  # IPv4 first: more hosts serve it


def fetch_url(
    url: str, *, timeout_s: float = 20.0, max_bytes: int = 5_000_000, allow_loopback: bool = False, verify=True
) -> Draft:
    """Download `url` (streamed, capped in bytes and total time) and extract its article.

    `verify` is httpx's: True (system CAs via certifi) or an ssl.SSLContext (a private CA).
    """
    deadline = time.monotonic() + timeout_s
    current = url
    try:
        with httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            headers={"User-Agent": USER_AGENT, "Accept": ", ".join(ALLOWED_TYPES)},
            trust_env=False,
            verify=verify,
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                parts = urlsplit(current)
                if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
                    raise FetchError(f"{current}: only http and https URLs are accepted")
                port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
                ip = resolve_public(parts.hostname, port, allow_loopback)
                netloc = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
                pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
                host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
                request = client.build_request("GET", pinned, headers={"Host": host_header},
                                               extensions={"sni_hostname": parts.hostname})
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        current = urljoin(current, location)
                        continue
                    body, declared = _read(response, url, max_bytes, deadline, timeout_s)
                finally:
                    response.close()
                return draft_from_bytes(body, url, url=current, charset=declared)
            raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException:
        raise FetchError(f"{url}: timed out after {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch ({exc.__class__.__name__}: {exc})") from None


def _read(response: httpx.Response, url: str, max_bytes: int, deadline: float, timeout_s: float) -> tuple[bytes, str | None]:
    if response.status_code >= 400:
        raise FetchError(f"{url}: the server answered HTTP {response.status_code}")
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in ALLOWED_TYPES:
        raise FetchError(f"{url}: unsupported content type {ctype!r}")
    declared = response.charset_encoding
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{url}: page larger than {max_bytes:,} bytes; download aborted")
    body = bytearray()
    for part in response.iter_bytes():
        body += part
        if len(body) > max_bytes:
            raise FetchError(f"{url}: page larger than {max_bytes:,} bytes; download aborted")
        if time.monotonic() > deadline:
            raise FetchError(f"{url}: download took longer than {timeout_s:g} s; aborted")
    return bytes(body), declared
