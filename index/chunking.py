"""Sentence-aware chunks with character offsets, by llama-index's SentenceSplitter.

Sizes are counted in the embedding model's own tokens, so that a chunk never
overflows what the model reads (512 tokens for E5).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from .records import Chunk


@lru_cache(maxsize=8)
def _splitter(chunk_tokens: int, chunk_overlap: int, tokenizer: Callable[[str], list] | None):
    from llama_index.core.node_parser import SentenceSplitter

    kwargs = {"chunk_size": chunk_tokens, "chunk_overlap": min(chunk_overlap, chunk_tokens // 2)}
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
    splitter = _splitter(chunk_tokens, chunk_overlap, tokenizer)
    pieces = splitter.split_text(text)
    chunks: list[Chunk] = []
    cursor = 0
    for piece in pieces:
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
        chunks.append(
            Chunk(
                id=f"{id_prefix or article_id}#{len(chunks)}",
                article_id=article_id,
                index=len(chunks),
                text=text[start:end],
                start=start,
                end=end,
            )
        )
    return chunks


def _locate_loose(text: str, piece: str, cursor: int) -> tuple[int, int]:
    """Span of `text` from the piece's first word to its last, searching from `cursor`."""
    words = piece.split()
    first, last = words[0], words[-1]
    start = text.find(first, max(0, cursor - len(piece)))
    start = start if start >= 0 else cursor
    end = text.find(last, start + max(0, len(piece) // 2 - len(last)))
    end = end + len(last) if end >= 0 else min(len(text), start + len(piece))
    return start, max(end, start + 1)
