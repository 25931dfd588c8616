"""Turn sources (files, directories, stdin, JSONL, fetched pages) into article drafts.

A draft is what the user gave us, cleaned; the engine gives it an id, a hash and
a language. Types are judged by content (magic bytes, markup), not by file name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

from newsbot.index.errors import InputError
from newsbot.index.text.chunking import UNBREAKABLE
from newsbot.index.text.words import clean_text, derive_title

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
_MIN_LETTERS = 20


@dataclass(frozen=True)
class Draft:
    """An article before it is indexed. `origin` names where it came from, for messages."""

    text: str
    title: str = ""
    url: str = ""
    source: str = ""
    published_at: str = ""
    lang: str = ""
    id: str = ""
    origin: str = ""


EARLIEST_YEAR = 1800
FUTURE_SLACK_DAYS = 2  # an outlet's date is its local day: tomorrow somewhere is today here


def normalize_date(value: str | None, today: date | None = None) -> str:
    """ISO date (YYYY-MM-DD) from an ISO date or timestamp; "" for nothing. A date no article can
    have (before 1800, or after the day after tomorrow: "9999-12-31") is refused, as is
    "0000-00-00": either would sort first as the "latest" news forever."""
    if not value:
        return ""
    value = str(value).strip()
    try:
        day = datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            raise InputError(f"not a date: {value[:40]!r} (use YYYY-MM-DD)") from None
    latest = (today or date.today()) + timedelta(days=FUTURE_SLACK_DAYS)
    if day.year < EARLIEST_YEAR or day > latest:
        raise InputError(f"not a publication date: {value[:40]!r} (from {EARLIEST_YEAR} up to {latest.isoformat()})")
    return day.isoformat()


def finish(draft: Draft, max_chars: int) -> Draft:
    """Clean the text, check it is real prose, and fill a missing title."""
    text = clean_text(draft.text)
    letters = sum(ch.isalpha() for ch in text[:5000])
    where = f"{draft.origin}: " if draft.origin else ""
    if not text:
        raise InputError(f"{where}no text to index (the input is empty)")
    if letters < _MIN_LETTERS:
        raise InputError(f"{where}no text to index (only {letters} letters after removing markup and spaces)")
    if len(text) > max_chars:
        raise InputError(f"{where}article too long ({len(text):,} characters; the limit is {max_chars:,})")
    unbreakable = sum(len(m.group()) for m in UNBREAKABLE.finditer(text))
    if unbreakable > len(text) // 2:
        raise InputError(f"{where}not an article: {unbreakable:,} of its {len(text):,} characters are runs without "
                         "a space or punctuation (encoded data?)")
    if len(draft.id) > MAX_ID_CHARS:
        raise InputError(f"{where}an id of {len(draft.id):,} characters (at most {MAX_ID_CHARS})")
    title = capped(one_line(draft.title), MAX_TITLE_CHARS) or derive_title(text)
    return replace(draft, text=text, title=title, source=capped(one_line(draft.source), MAX_SOURCE_CHARS),
                   url=article_url(draft.url), published_at=normalize_date(draft.published_at))


# Caps on what every source kind (file, URL, JSONL, feed, Discord) may bring besides the text:
# a 3 MB title was once stored whole and printed with every answer.
MAX_TITLE_CHARS = 300
MAX_SOURCE_CHARS = 200
MAX_ID_CHARS = 200
MAX_URL_CHARS = 2048  # what browsers and sitemaps accept


def capped(value: str, limit: int) -> str:
    """A metadata line cut at a word boundary, marked with an ellipsis when cut."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut).rstrip() + "…"


_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")


def is_url(source: str) -> bool:
    """An http(s) URL (well formed or not: a malformed one is then a clear FetchError)."""
    m = _SCHEME.match(source or "")
    return bool(m) and m.group(1).lower() in {"http", "https"}


def article_url(value: str | None) -> str:
    """An article's link as kept: http(s) and at most MAX_URL_CHARS, or none at all (a
    `javascript:` or `file:` link must never reach a citation someone clicks)."""
    url = "".join(clean_text(value or "").split())
    return url if is_url(url) and len(url) <= MAX_URL_CHARS else ""


def one_line(value: str) -> str:
    """A metadata field (title, outlet) as one clean line: no control characters (such as a
    terminal's escape codes), no line breaks."""
    return " ".join(clean_text(value or "").split())


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


def draft_from_bytes(data: bytes, origin: str, url: str = "", charset: str | None = None) -> Draft:
    if not data.strip():
        raise InputError(f"{origin}: no text to index (the input is empty)")
    as_utf8 = utf16_as_utf8(data)
    if as_utf8 is not None:
        data, charset = as_utf8, "utf-8"
    kind = sniff(data, origin)
    if kind == "pdf":
        return _draft_from_pdf(data, origin)
    text = decode_bytes(data, origin, charset)
    if kind == "html":
        return draft_from_html(text, origin, url)
    return Draft(text=text, url=url, origin=origin)


def draft_from_html(html: str, origin: str, url: str = "") -> Draft:
    """Main text, title, date and outlet of a news page, by trafilatura."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    if doc is None or not (getattr(doc, "text", "") or "").strip():
        raise InputError(f"{origin}: no text to index (the page holds only markup or boilerplate)")
    return Draft(
        text=doc.text,
        title=doc.title or "",
        url=url,
        source=doc.sitename or doc.hostname or "",
        published_at=safe_date(doc.date),
        origin=origin,
    )


def safe_date(value) -> str:
    try:
        return normalize_date(value)
    except InputError:
        return ""


def _draft_from_pdf(data: bytes, origin: str) -> Draft:
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files are ours to word
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata or {}
        title = str(meta.get("/Title") or "")
    except Exception as exc:  # pypdf raises many kinds (its limits, parse errors, recursion) for hostile files
        raise InputError(f"{origin}: unreadable PDF ({exc.__class__.__name__}: {str(exc)[:160]})") from None
    # PDF lines are layout, not paragraphs: join hyphenated and wrapped lines.
    text = "\n\n".join(pages)
    text = re.sub(r"-\n(?=[a-z])", "", text)
    text = re.sub(r"(?<![.!?:\n])\n(?!\n)", " ", text)
    return Draft(text=text, title=title, origin=origin)


# ---------------------------------------------------------------- sources

def read_file(path: Path, max_bytes: int) -> Draft:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: file too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return draft_from_bytes(data, str(path))


def iter_directory(path: Path) -> Iterator[Path | InputError]:
    """Supported files below `path`, recursively, in a stable order; hidden ones skipped. A link
    that leads out of the directory is an InputError, never followed: adding a folder must not
    read, say, /etc/passwd through a symlink placed in it."""
    root = path.resolve()
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not any(
            part.startswith(".") for part in p.relative_to(path).parts
        ):
            if p.resolve().is_relative_to(root):
                yield p
            else:
                yield InputError(f"{p}: links to a file outside {path}; not followed", str(p))


_TEXT_FIELDS = ("title", "url", "source", "lang", "published_at")


MAX_JSONL_LINE_BYTES = 64 << 20  # an article of NEWSBOT_MAX_ARTICLE_CHARS, JSON-escaped, fits in one line


def iter_jsonl(path: Path, max_line_bytes: int = MAX_JSONL_LINE_BYTES) -> Iterator[Draft | InputError]:
    """Drafts from the evaluation articles format (see ../shared/data/README.md).

    A line that is not a valid article is yielded as an InputError (with its origin) and
    the lines after it are still read: one bad line never hides the rest of the file. A line
    longer than `max_line_bytes` is such an error too, and is skipped without being held in
    memory (a 2 GB line once took 4 GB and the whole import with it)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for lineno, line in _bounded_lines(handle, max_line_bytes):
            origin = f"{path}:{lineno}"
            if line is None:
                yield InputError(f"{origin}: a line of more than {max_line_bytes:,} bytes; skipped", origin)
                continue
            if not line.strip():
                continue
            try:
                yield _draft_from_row(line.decode("utf-8", errors="replace"), origin)
            except InputError as exc:
                yield InputError(f"{origin}: {exc}", origin)


def _bounded_lines(handle, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each line; None for a line over `limit`, read past a MiB at a time."""
    lineno = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        lineno += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield lineno, None
        else:
            yield lineno, line


def _draft_from_row(line: str, origin: str) -> Draft:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})") from None
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise InputError("each line must be an object with a \"text\" string")
    bad = [k for k in _TEXT_FIELDS if row.get(k) is not None and not isinstance(row[k], str)]
    if bad:
        raise InputError(f"{bad[0]!r} must be a string or null, not {type(row[bad[0]]).__name__}")
    article_id = row.get("id")
    if article_id is not None and (isinstance(article_id, bool) or not isinstance(article_id, (str, int))):
        raise InputError(f"'id' must be a string or a number, not {type(article_id).__name__}")
    return Draft(
        text=row["text"],
        title=row.get("title") or "",
        url=row.get("url") or "",
        source=row.get("source") or "",
        published_at=safe_date(row.get("published_at")),
        lang=row.get("lang") or "",
        id=str(article_id if article_id is not None else ""),
        origin=origin,
    )
