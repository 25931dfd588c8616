"""Files, directories and JSONL as drafts, one at a time, each bad one an InputError in the stream."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from newsbot.index.errors import InputError
from newsbot.index.sources.draft import (
    OVERSIZE,
    SUPPORTED_SUFFIXES,
    Draft,
    safe_date,
)
from newsbot.index.sources.loaders import draft_from_bytes

# ---------------------------------------------------------------- sources

def read_file(path: Path, max_bytes: int, max_chars: int | None = None) -> Draft:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: file too large ({size:,} bytes; the limit is {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return draft_from_bytes(data, str(path), max_chars=max_chars)


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


MAX_JSONL_LINE_BYTES = 64 << 20
ESCAPED_BYTES_PER_CHAR = 6  # JSON's longest escape of a character of the BMP: \uXXXX


def line_limit(max_chars: int | None) -> int:
    """The longest line that can hold an article of `max_chars` (OVERSIZE times, escaped, with its fields)."""
    if max_chars is None:
        return MAX_JSONL_LINE_BYTES
    return min(MAX_JSONL_LINE_BYTES, ESCAPED_BYTES_PER_CHAR * OVERSIZE * max_chars + (1 << 20))


def iter_jsonl(path: Path, max_line_bytes: int = MAX_JSONL_LINE_BYTES,
               max_chars: int | None = None) -> Iterator[Draft | InputError]:
    """Drafts from the evaluation articles format (see ../shared/data/README.md).

    A line that is not a valid article is yielded as an InputError (with its origin) and
    the lines after it are still read: one bad line never hides the rest of the file. A line
    longer than `max_line_bytes`, or than an article of `max_chars` can be (`line_limit`), is such an
    error too, and is skipped without being held in memory (a 2 GB line once took 4 GB and the whole
    import with it; a 60 MB one 1.47 GB before it was refused)."""
    max_line_bytes = min(max_line_bytes, line_limit(max_chars))
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for lineno, line in _bounded_lines(handle, max_line_bytes):
            origin = f"{path}:{lineno}"
            if line is None:
                yield InputError(f"{origin}: article too long (a line of more than {max_line_bytes:,} bytes; the "
                                 f"limit is {max_chars or 0:,} characters, NEWSBOT_MAX_ARTICLE_CHARS); skipped"
                                 if max_chars else f"{origin}: a line of more than {max_line_bytes:,} bytes; skipped",
                                 origin)
                continue
            if not line.strip():
                continue
            try:
                yield _draft_from_row(line.decode("utf-8", errors="replace"), origin, max_chars)
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


def _draft_from_row(line: str, origin: str, max_chars: int | None = None) -> Draft:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})") from None
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise InputError("each line must be an object with a \"text\" string")
    if max_chars is not None and len(row["text"]) > OVERSIZE * max_chars:
        raise InputError(f"article too long ({len(row['text']):,} characters; the limit is {max_chars:,}, "
                         "NEWSBOT_MAX_ARTICLE_CHARS)")
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
