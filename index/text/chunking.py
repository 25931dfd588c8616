"""Sentence-aware chunks with character offsets, by llama-index's SentenceSplitter.

Sizes are counted in the embedding model's own tokens, so that a chunk never
overflows what the model reads (512 tokens for E5).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from newsbot.index.records import Chunk


@lru_cache(maxsize=8)
def _splitter(chunk_tokens: int, chunk_overlap: int, tokenizer: Callable[[str], list] | None):
    from llama_index.core.node_parser import SentenceSplitter

    kwargs: dict[str, Any] = {"chunk_size": chunk_tokens, "chunk_overlap": min(chunk_overlap, chunk_tokens // 2)}
    if tokenizer is not None:
        kwargs["tokenizer"] = tokenizer
    return SentenceSplitter(paragraph_separator="\n\n", secondary_chunking_regex="[^,.;。？！]+[,.;。？！]?", **kwargs)


def chunk_text(
    article_id: str,
    text: str,
    chunk_tokens: int = 256,
    chunk_overlap: int = 32,
    tokenizer: Callable[[str], list] | None = None,
    id_prefix: str = "",
) -> list[Chunk]:
    """Split `text` into chunks whose `text` is exactly `text[start:end]`.

    Chunk ids are `<id_prefix or article_id>#<n>`: callers put the content hash in
    the prefix so that a new version of an article never reuses an old chunk's id.
    """
    if tokenizer is not None and UNBREAKABLE.search(text):
        spans = window_spans(text, chunk_tokens, lambda t: len(tokenizer(t)))
        return [Chunk(id=f"{id_prefix or article_id}#{i}", article_id=article_id, index=i, text=text[a:b], start=a,
                      end=b)
                for i, (a, b) in enumerate(spans)]
    splitter = _splitter(chunk_tokens, chunk_overlap, tokenizer)
    spans = []
    cursor = 0
    for piece in splitter.split_text(text):
        piece = piece.strip()
        if not piece:
            continue
        start = text.find(piece, max(0, cursor - len(piece)))
        if start < 0:
            start = text.find(piece)
        if start < 0:  # the splitter altered the text: fall back to the span it covers
            start, end = _locate_loose(text, piece, cursor)
        else:
            end = start + len(piece)
        cursor = end
        spans.append((start, end))
    if tokenizer is not None:
        spans = merge_small(text, spans, chunk_tokens, lambda t: len(tokenizer(t)))
    return [Chunk(id=f"{id_prefix or article_id}#{i}", article_id=article_id, index=i, text=text[a:b], start=a, end=b)
            for i, (a, b) in enumerate(spans)]


# A run the sentence splitter cannot cut at a space or punctuation: it falls back to cutting
# characters, into pieces of a few tokens that it cannot place back in repetitive text.
UNBREAKABLE = re.compile(r"[^\s,.;。？！]{300,}")


def window_spans(text: str, max_tokens: int, count) -> list[tuple[int, int]]:
    """Consecutive spans of at most `max_tokens` tokens, cut at the last space when there is one
    in the second half of the window: for text with unbreakable runs (a base64 blob in a page)."""
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        lo, hi = pos + 1, min(n, pos + max_tokens * 8)
        while lo < hi:  # the longest window that fits the budget
            mid = (lo + hi + 1) // 2
            if count(text[pos:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        end = lo
        if end < n:
            space = text.rfind(" ", pos + (end - pos) // 2, end)
            end = space if space > pos else end
        spans.append((pos, end))
        pos = end
    return [(a, b) for a, b in ((a, len(text[a:b].rstrip()) + a) for a, b in spans) if b > a]


def merge_small(text: str, spans: list[tuple[int, int]], max_tokens: int, count) -> list[tuple[int, int]]:
    """Join neighbouring spans while one of them is under a quarter of the budget and the join fits.

    The splitter cuts text without spaces (a 900 kB "word", a base64 blob) into pieces of a few
    tokens each: 20,000 chunks and minutes of embedding for one article. Joined, they are full-size."""
    floor = max_tokens // 4
    out: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for a, b in spans:
        tokens = count(text[a:b])
        if out and (out[-1][2] < floor or tokens < floor):
            start = out[-1][0]
            joined = count(text[start:max(b, out[-1][1])])
            if joined <= max_tokens:
                out[-1] = (start, max(b, out[-1][1]), joined)
                continue
        out.append((a, b, tokens))
    return [(a, b) for a, b, _ in out]


def _locate_loose(text: str, piece: str, cursor: int) -> tuple[int, int]:
    """Span of `text` from the piece's first word to its last, searching from `cursor`."""
    words = piece.split()
    first, last = words[0], words[-1]
    start = text.find(first, max(0, cursor - len(piece)))
    start = start if start >= 0 else cursor
    end = text.find(last, start + max(0, len(piece) // 2 - len(last)))
    end = end + len(last) if end >= 0 else min(len(text), start + len(piece))
    return start, max(end, start + 1)
