"""The article draft (what a source gave, cleaned: the engine gives it an id, a hash and a
language) and the rules its fields keep: dates, caps, links."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

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


# A text is refused before it is cleaned, parsed or extracted only when it is over OVERSIZE times the cap
# (NEWSBOT_MAX_ARTICLE_CHARS): cleaning folds spaces and drops control characters, and a page's markup goes, so a
# text somewhat over may still fit, and `finish` checks what is left exactly. Over that, it cannot: a 60 MB JSONL
# line took 1.47 GB and minutes to be refused at the end, and is now refused as it is read.
OVERSIZE = 2


def finish(draft: Draft, max_chars: int) -> Draft:
    """Clean the text, check it is real prose, and fill a missing title."""
    where = f"{draft.origin}: " if draft.origin else ""
    if len(draft.text) > OVERSIZE * max_chars:  # before cleaning copies it (see OVERSIZE)
        raise InputError(f"{where}article too long ({len(draft.text):,} characters; the limit is {max_chars:,})")
    text = clean_text(draft.text)
    letters = sum(ch.isalpha() for ch in text[:5000])
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
    return m is not None and m.group(1).lower() in {"http", "https"}


def article_url(value: str | None) -> str:
    """An article's link as kept: http(s) and at most MAX_URL_CHARS, or none at all (a
    `javascript:` or `file:` link must never reach a citation someone clicks)."""
    url = "".join(clean_text(value or "").split())
    return url if is_url(url) and len(url) <= MAX_URL_CHARS else ""


def one_line(value: str) -> str:
    """A metadata field (title, outlet) as one clean line: no control characters (such as a
    terminal's escape codes), no line breaks."""
    return " ".join(clean_text(value or "").split())


def safe_date(value) -> str:
    try:
        return normalize_date(value)
    except InputError:
        return ""
