"""What a user gives (paths, directories, URLs, stdin, JSONL, uploaded bytes) turned into drafts.

Every source becomes a Draft or an AddError, never an exception: one bad file or page is
reported in its place and the others go on.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from newsbot.index.errors import InputError, NewsbotError
from newsbot.index.records import AddError
from newsbot.index.settings import Settings
from newsbot.index.sources.draft import Draft, is_url
from newsbot.index.sources.fetch import fetch_url
from newsbot.index.sources.files import iter_directory, iter_jsonl, read_file
from newsbot.index.sources.loaders import draft_from_bytes

log = logging.getLogger("newsbot.engine")


def from_sources(sources: list[str], settings: Settings, overrides: dict | None = None) -> Iterator[Draft | AddError]:
    """Drafts from URLs, files, directories and '-' (stdin), in order."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    for source in sources:
        path = Path(source)
        if source != "-" and not is_url(source) and path.is_dir():
            for file in iter_directory(path):
                yield AddError(file.origin, str(file)) if isinstance(file, InputError) else load_one(str(file),
                                                                                                     settings,
                                                                                                     overrides)
        else:
            yield load_one(source, settings, overrides)


def from_url(url: str, settings: Settings) -> Draft | AddError:
    """A page fetched from an http(s) URL, and nothing else: for untrusted input (a Discord
    member's /add), where a path, '-' or another scheme must never reach a file or stdin."""
    url = url.strip()
    if not is_url(url):
        return AddError(url[:200], f"{url[:200]!r} is not an http(s) URL; only links to web pages can be added this "
                                   f"way")
    return load_one(url, settings, {})


def from_upload(data: bytes, name: str, title: str = "", max_chars: int | None = None) -> Draft | AddError:
    """A draft from uploaded bytes (a Discord attachment or pasted text), judged by content."""
    try:
        draft = draft_from_bytes(data, name, max_chars=max_chars)
        return replace(draft, title=title) if title else draft
    except NewsbotError as exc:
        return AddError(name, str(exc))


def from_jsonl(path: str, max_chars: int | None = None) -> Iterator[Draft | AddError]:
    """Each line is its own draft or error: a bad line never hides the lines after it."""
    try:
        for item in iter_jsonl(Path(path), max_chars=max_chars):
            yield AddError(item.origin, str(item)) if isinstance(item, InputError) else item
    except InputError as exc:
        yield AddError(path, str(exc))


def load_one(source: str, settings: Settings, overrides: dict) -> Draft | AddError:
    try:
        if source == "-":
            data = sys.stdin.buffer.read(settings.max_file_bytes + 1)
            if len(data) > settings.max_file_bytes:
                raise InputError(f"stdin: more than {settings.max_file_bytes:,} bytes")
            draft = draft_from_bytes(data, "stdin", max_chars=settings.max_article_chars)
        elif is_url(source):
            draft = fetch_url(source, timeout_s=settings.fetch_timeout_s, max_bytes=settings.fetch_max_bytes,
                              allow_loopback=settings.allow_loopback_urls, max_chars=settings.max_article_chars)
        elif Path(source).is_file():
            draft = read_file(Path(source), settings.max_file_bytes, settings.max_article_chars)
        else:
            raise InputError(f"{source}: no such file or directory, and not an http(s) URL")
        return replace(draft, **overrides)
    except NewsbotError as exc:
        return AddError(source, str(exc))
    except Exception as exc:  # a loader's own bug or limit (pypdf, trafilatura): this source fails, not the batch
        log.debug("loading %s failed", source, exc_info=True)
        return AddError(source, f"cannot load it ({exc.__class__.__name__}: {str(exc)[:200]})")
