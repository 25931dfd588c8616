"""Bytes -> a draft: decoding (declared, sniffed, UTF-16), HTML by trafilatura, PDF by pypdf, text.
Types are judged by content (magic bytes, markup), not by file name."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from newsbot.index.errors import InputError
from newsbot.index.sources.draft import (
    OVERSIZE,
    SUPPORTED_SUFFIXES,
    Draft,
    safe_date,
)

if TYPE_CHECKING:
    from trafilatura.settings import Document

# ---------------------------------------------------------------- bytes -> text

def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return bool(head) and controls / len(head) > 0.05


def decode_bytes(data: bytes, origin: str, declared: str | None = None) -> str:
    """Decode text bytes: a declared charset, UTF-8, or a detected charset."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for enc in filter(None, (declared, "utf-8")):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise InputError(f"{origin}: cannot decode the text (unknown character set)")
    best = matches[0]
    # A short text fits several 8-bit charsets equally well; then Western European (by far the most
    # common legacy encoding of news pages) wins, so "São" does not become "Săo".
    western = next((m for m in matches if m.encoding in _WESTERN and m.chaos <= best.chaos
                    and m.coherence >= best.coherence), None)
    return str(western or best)


_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def utf16_as_utf8(data: bytes) -> bytes | None:
    """UTF-16 text (with a byte-order mark, or without one when every other byte is zero) as UTF-8;
    None when `data` is not UTF-16."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        head = data[:4096]
        if len(head) < 8 or len(head) % 2:
            return None
        even, odd = head[0::2], head[1::2]
        zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
        if zeros_odd > 0.6 and zeros_even < 0.05:
            encoding = "utf-16-le"
        elif zeros_even > 0.6 and zeros_odd < 0.05:
            encoding = "utf-16-be"
        else:
            return None
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError:
        return None


_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|article|p|div)\b", re.I)


def sniff(data: bytes, name: str = "") -> str:
    """'pdf', 'html' or 'text', judged by content; binary input is an error."""
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if looks_binary(data):
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputError(f"{name or 'input'}: binary file, not text (supported: {supported})")
    if _MARKUP.search(data[:4096]):
        return "html"
    return "text"


# What a page's markup cannot turn into article text: scripts, styles, comments and the tags themselves.
_NOT_TEXT = re.compile(r"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^>]*>", re.I | re.S)


def text_bound(html: str) -> int:
    """An upper bound on the characters of text a page can become (its text outside markup), found by one
    regex pass: a 19.6 MB page is judged in a fraction of a second, where extracting it took 55 s and 1 GB."""
    return len(html) - sum(len(m.group()) for m in _NOT_TEXT.finditer(html))


def too_long(origin: str, chars: int, max_chars: int, what: str = "") -> InputError:
    return InputError(f"{origin}: article too long ({what}{chars:,} characters; the limit is {max_chars:,}, "
                      "NEWSBOT_MAX_ARTICLE_CHARS)", origin)


def draft_from_bytes(data: bytes, origin: str, url: str = "", charset: str | None = None,
                     max_chars: int | None = None) -> Draft:
    """`max_chars`: a text that cannot fit is refused before the costly steps (decoding, extraction)."""
    if not data.strip():
        raise InputError(f"{origin}: no text to index (the input is empty)")
    as_utf8 = utf16_as_utf8(data)
    if as_utf8 is not None:
        data, charset = as_utf8, "utf-8"
    kind = sniff(data, origin)
    if kind == "pdf":
        return _draft_from_pdf(data, origin)
    if kind == "text" and max_chars is not None and len(data) > 4 * OVERSIZE * max_chars:  # >= 1 char per 4 bytes
        raise too_long(origin, len(data) // 4, max_chars, "at least ")
    text = decode_bytes(data, origin, charset)
    if kind == "html":
        if max_chars is not None and (bound := text_bound(text)) > OVERSIZE * max_chars:
            raise too_long(origin, bound, max_chars, "a page with ")
        return draft_from_html(text, origin, url)
    if max_chars is not None and len(text) > OVERSIZE * max_chars:
        raise too_long(origin, len(text), max_chars)
    return Draft(text=text, url=url, origin=origin)


def draft_from_html(html: str, origin: str, url: str = "") -> Draft:
    """Main text, title, date and outlet of a news page, by trafilatura."""
    import trafilatura

    doc = cast("Document | None", trafilatura.bare_extraction(  # a Document, as_dict being False
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    ))
    if doc is None or not (doc.text or "").strip():
        raise InputError(f"{origin}: no text to index (the page holds only markup or boilerplate)")
    return Draft(
        text=doc.text or "",
        title=doc.title or "",
        url=url,
        source=doc.sitename or doc.hostname or "",
        published_at=safe_date(doc.date),
        origin=origin,
    )


def _draft_from_pdf(data: bytes, origin: str) -> Draft:
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files are ours to word
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta: Any = reader.metadata or {}
        title = str(meta.get("/Title") or "")
    except Exception as exc:  # pypdf raises many kinds (its limits, parse errors, recursion) for hostile files
        raise InputError(f"{origin}: unreadable PDF ({exc.__class__.__name__}: {str(exc)[:160]})") from None
    # PDF lines are layout, not paragraphs: join hyphenated and wrapped lines.
    text = "\n\n".join(pages)
    text = re.sub(r"-\n(?=[a-z])", "", text)
    text = re.sub(r"(?<![.!?:\n])\n(?!\n)", " ", text)
    return Draft(text=text, title=title, origin=origin)
