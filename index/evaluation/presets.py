"""Named retrieval configurations, compared side by side by `newsbot eval`.

`default` is exactly what the bot and the CLI use (from the settings); the others
are the alternatives the defaults were chosen against.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from newsbot.index.answering.retrieval import RetrievalConfig
from newsbot.index.errors import ConfigError
from newsbot.index.settings import Settings


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    retrieval: RetrievalConfig
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    llm: bool = False  # answers written by the configured LLM (then verified)
    reader: bool | None = None  # the reader on or off (None: as NEWSBOT_READER says)


ALL_TERMS: dict[str, Any] = {"bm25_max_df": 1.0, "bm25_max_terms": 32}  # BM25 over every question term


def default_preset(settings: Settings) -> Preset:
    answers = (f"answers by {settings.llm_provider}:{settings.llm_model}" if settings.llm_enabled
               else "extractive answers")
    reads = "the reader on" if settings.reader == "on" else "the reader off"
    return Preset(
        "default",
        f"what the bot uses: {settings.retrieval_mode}, {settings.chunk_tokens}-token chunks, {reads}, {answers}",
        RetrievalConfig(mode=settings.retrieval_mode, candidates=settings.candidates),
        settings.chunk_tokens,
        settings.chunk_overlap,
        settings.llm_enabled,
    )


def presets(settings: Settings) -> dict[str, Preset]:
    base = default_preset(settings)
    auto = replace(base.retrieval, mode="auto")
    items = [
        base,
        *([replace(base, name="extractive", description="the default retrieval with extractive answers", llm=False)]
          if base.llm else []),
        replace(base, name="reader-off" if settings.reader == "on" else "reader-on", reader=settings.reader != "on",
                description="the default with the reader " + ("off: the hand features alone pick the quote"
                                                              if settings.reader == "on" else "on")),
        Preset("dense", "Chroma cosine similarity only", replace(base.retrieval, mode="dense"), base.chunk_tokens,
               base.chunk_overlap),
        # The BM25 baselines search every question term: the rarest-terms shortcut of `auto` (where
        # BM25 only proposes candidates) would handicap BM25 as a ranker of its own.
        Preset("bm25", "BM25 (SQLite FTS5) only, over every question term",
               replace(base.retrieval, mode="lexical", **ALL_TERMS), base.chunk_tokens, base.chunk_overlap),
        Preset("hybrid-rrf", "reciprocal rank fusion of dense and BM25 (every question term)",
               replace(base.retrieval, mode="hybrid", **ALL_TERMS), base.chunk_tokens, base.chunk_overlap),
        Preset("auto-0.05", "dense + 0.05 x term coverage", replace(auto, coverage_weight=0.05), base.chunk_tokens,
               base.chunk_overlap),
        Preset("auto-0.25", "dense + 0.25 x term coverage", replace(auto, coverage_weight=0.25), base.chunk_tokens,
               base.chunk_overlap),
        Preset("query-only", "every input embedded as a query (no symmetric search for statements)",
               replace(auto, statements_as_passages=False), base.chunk_tokens, base.chunk_overlap),
        Preset("bm25-all-terms", "auto, BM25 over every question term (no selective terms: slower at scale)",
               replace(auto, **ALL_TERMS), base.chunk_tokens, base.chunk_overlap),
        Preset("article-0.2", "auto + 0.2 x similarity to the article's mean chunk vector",
               replace(auto, article_weight=0.2), base.chunk_tokens, base.chunk_overlap),
        Preset("no-xl-bonus", "auto without the cross-lingual bonus in mixed-language indexes",
               replace(auto, crosslingual_bonus=0.0), base.chunk_tokens, base.chunk_overlap),
        Preset("no-leaders", "auto without comparing the languages' best candidates by meaning (mixed-language "
                             "indexes; the path before stop 44)",
               replace(auto, language_leaders=False), base.chunk_tokens, base.chunk_overlap),
        Preset("chunks-128", "auto with 128-token chunks", auto, 128, 16),
        Preset("chunks-448", "auto with 448-token chunks", auto, 448, 48),
    ]
    return {p.name: p for p in items}


def resolve(names: str, settings: Settings) -> list[Preset]:
    known = presets(settings)
    chosen: list[Preset] = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        if name == "all":
            chosen.extend(known.values())
        elif name in known:
            chosen.append(known[name])
        else:
            raise ConfigError(f"unknown eval config {name!r} (one of: all, {', '.join(known)})")
    return list({p.name: p for p in chosen}.values())
