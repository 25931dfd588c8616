"""Fetch a news page over HTTP(S): timeouts, a byte cap, a few redirects, allowed types.

httpx does the HTTP; trafilatura (in loaders) does the extraction.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from .errors import FetchError
from .loaders import Draft, draft_from_bytes

ALLOWED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf")
MAX_REDIRECTS = 5
USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot; article indexer)"


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in {"http", "https"}


def fetch_url(url: str, *, timeout_s: float = 20.0, max_bytes: int = 5_000_000) -> Draft:
    """Download `url` (streamed, capped in bytes and total time) and extract its article."""
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        raise FetchError(f"{url}: only http and https URLs are accepted")
    deadline = time.monotonic() + timeout_s
    try:
        with httpx.Client(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            headers={"User-Agent": USER_AGENT, "Accept": ", ".join(ALLOWED_TYPES)},
        ) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise FetchError(f"{url}: the server answered HTTP {response.status_code}")
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype and ctype not in ALLOWED_TYPES:
                    raise FetchError(f"{url}: unsupported content type {ctype!r}")
                declared = response.charset_encoding
                body = bytearray()
                for part in response.iter_bytes():
                    body += part
                    if len(body) > max_bytes:
                        raise FetchError(f"{url}: page larger than {max_bytes:,} bytes; download aborted")
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url}: download took longer than {timeout_s:g} s; aborted")
                final_url = str(response.url)
    except httpx.TooManyRedirects:
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise FetchError(f"{url}: timed out after {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch ({exc.__class__.__name__}: {exc})") from None
    return draft_from_bytes(bytes(body), url, url=final_url, charset=declared)
