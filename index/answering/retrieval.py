"""Hybrid retrieval: dense search in Chroma plus a BM25 ranking, fused.

Candidates come from both rankings; every candidate then gets its exact dense
similarity (from its stored embedding), and the mode decides the order:

- `dense`: Chroma only, by cosine similarity.
- `lexical`: BM25 only.
- `hybrid`: reciprocal rank fusion (RRF) of the dense and BM25 rankings.
- `auto` (default): dense similarity plus a bonus for the share of the question's
  terms (IDF-weighted) that the passage contains. Unlike RRF, a passage that BM25
  likes but that means something else cannot outrank a close semantic match; the
  bonus only breaks near-ties, and it works across languages because terms are
  language-neutral stems (names, numbers, cognates). In a namespace of several
  languages the question's words favour passages in its own language, so each
  language's best candidate is compared with the others' by meaning instead, one
  in another language by its best sentence (`level_languages`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from newsbot.index.records import Passage
from newsbot.index.storage.lexical import LexicalIndex
from newsbot.index.storage.store import Filters, NamespaceStore
from newsbot.index.text.language import detect_language
from newsbot.index.text.words import lexical_terms, sentences_of

MODES = ("auto", "dense", "lexical", "hybrid")
RRF_K = 60


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "auto"
    candidates: int = 50  # per ranking, before fusion
    rrf_k: int = RRF_K
    lexical_weight: float = 1.0  # RRF weight of the BM25 ranking (hybrid)
    coverage_weight: float = 0.15  # weight of the term-coverage bonus (auto, and relevance)
    context_bonus: float = 0.05  # bonus for the earlier sources of a follow-up question (auto)
    statements_as_passages: bool = True  # embed a non-question symmetrically (see text.looks_like_question)
    bm25_max_df: float = 0.01  # BM25 searches only terms in at most this share of chunks (see selective_terms)
    bm25_max_terms: int = 6  # ... and at most this many of the rarest
    article_weight: float = 0.0  # auto: + w x similarity to the article's mean chunk vector (preset article-0.2)
    # auto, in a mixed-language namespace: added to passages in another language than the question's.
    # The multilingual model scores same-language pairs higher; 0.04 puts them level (chosen on
    # idmt-dev + rtqa-dev mixed and the seed facts among rtqa/facqa; no loss on any single-language set).
    crosslingual_bonus: float = 0.04
    # In a mixed-language namespace, dense candidates drawn from each language at least (one filtered Chroma
    # query per outnumbered language). Off: it lifted idmt+rtqa hit@1 0.904 -> 0.916 for ~200 ms at 100k chunks,
    # by finding chunks Chroma's search missed; since it searches wider (store.HNSW_EF_SEARCH) it adds nothing.
    language_pool: int = 0
    # auto, in a mixed-language namespace: each language's best candidate ("leader") is compared with the
    # others' by meaning, not by the question's words, which only a passage in the question's language
    # shares: its similarity (in another language than the question's, its best sentence's: a chunk
    # holds several facts, and a translated one is diluted most; plus the cross-lingual bonus), plus
    # leader_coverage x its term coverage. Within a language the order stays as scored
    # (`level_languages`; docs/multilingual.md, stop 44).
    language_leaders: bool = True
    leader_coverage: float = 0.06
    # ... and the dense search reaches this deep (an outnumbered language's answering chunk ranks low by
    # chunk cosine: the seed's ranked 63-249 of 5,403 chunks for English questions).
    mixed_candidates: int = 150


def rrf(rankings: list[list[str]], weights: list[float], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings an id is in."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def selective_terms(terms: list[str], df: dict[str, int], total: int, common: float = 0.01, most: int = 6) -> list[str]:
    """The terms worth a BM25 search: those in at most `common` of the chunks (the rest add little to
    BM25 but cost most: their posting lists are the longest), at least the two rarest, at most `most`."""
    present = sorted((t for t in dict.fromkeys(terms) if df.get(t, 0) > 0), key=lambda t: df[t])
    keep = [t for t in present if df[t] <= common * total]
    return (keep if len(keep) >= 2 else present[:2])[:most]


def idf_weights(question_terms: list[str], df: dict[str, int], total: int) -> dict[str, float]:
    """BM25-style IDF of each question term.

    Terms that no chunk contains keep their (maximal) weight: they are part of what
    the question asks, so a passage matching only its one rare known term must not
    count as covering the whole question.
    """
    return {
        term: math.log(1 + (total - df.get(term, 0) + 0.5) / (df.get(term, 0) + 0.5))
        for term in dict.fromkeys(question_terms)
    }


def coverage(passage_terms: set[str], weights: dict[str, float]) -> float:
    """The IDF-weighted share of the question's terms that the passage contains."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in passage_terms) / total if total else 0.0


def _per_language_candidates(store, query_vector, config, where, languages, dense, rows):
    """Make sure every language of the namespace has `language_pool` dense candidates: a language
    the others outnumber (Indonesian beside many English articles) gets its own query."""
    counts: dict[str, int] = {}
    for cid, _ in dense:
        lang = rows[cid]["meta"].get("lang", "")
        counts[lang] = counts.get(lang, 0) + 1
    for lang in sorted(languages):
        if counts.get(lang, 0) >= config.language_pool:
            continue
        clause = {"lang": lang}
        more, more_rows = store.query_dense(query_vector, config.language_pool,
                                            {"$and": [where, clause]} if where else clause)
        known = {cid for cid, _ in dense}
        dense = sorted(dense + [(cid, s) for cid, s in more if cid not in known], key=lambda x: -x[1])
        rows.update(more_rows)
    return dense, rows


def level_languages(scores: dict[str, float], rows: dict[str, dict], sims: dict[str, float], cover: dict[str, float],
                    q_lang: str, query_vector: np.ndarray, config: RetrievalConfig,
                    sentence_vectors: Callable[[list[str]], np.ndarray]) -> tuple[dict[str, float], dict[str, float]]:
    """`scores` shifted per language so that each language's leader (its best candidate) sits where its
    meaning puts it, the order within a language kept; and the best sentence's similarity of each leader
    in another language than the question's.

    A leader's meaning is its similarity plus `leader_coverage` x its term coverage; for a leader in
    another language, the similarity of its best sentence (a fact translated inside a long chunk is
    diluted by the rest) plus the cross-lingual bonus. The question-language leader keeps its chunk's
    similarity: its sentences would cost as many again to embed, and measured no better (stop 44).
    """
    leaders: dict[str, str] = {}
    for cid, score in scores.items():
        lang = rows[cid]["meta"].get("lang", "")
        if lang not in leaders or score > scores[leaders[lang]]:
            leaders[lang] = cid
    if len(leaders) < 2:
        return scores, {}
    offsets, best = {}, {}
    for lang, cid in leaders.items():
        meaning = sims[cid]
        if lang and lang != q_lang:
            sentences = sentences_of(rows[cid]["text"])
            if sentences:
                meaning = max(meaning, float(np.max(sentence_vectors(sentences) @ query_vector)))
            best[cid] = meaning
            meaning += config.crosslingual_bonus
        offsets[lang] = meaning + config.leader_coverage * cover[cid] - scores[cid]
    return {cid: s + offsets[rows[cid]["meta"].get("lang", "")] for cid, s in scores.items()}, best


def retrieve(
    store: NamespaceStore,
    lexical: LexicalIndex | None,
    query_vector: np.ndarray,
    question: str,
    k: int,
    config: RetrievalConfig,
    filters: Filters | None = None,
    timings: dict[str, float] | None = None,
    context_articles: frozenset[str] = frozenset(),
    judge_vector: np.ndarray | None = None,
    sentence_vectors: Callable[[list[str]], np.ndarray] | None = None,
) -> list[Passage]:
    """The top `k` passages for `question`, each with its dense similarity.

    `context_articles` (a follow-up's earlier sources) get a small bonus: a follow-up
    question is usually about the same story. `judge_vector`, when the ranking vector
    is a statement embedded as a passage, is the question-mode vector that relevance
    (and so abstention) is judged by, on the scale the threshold was calibrated on.
    `sentence_vectors` (passage embeddings of texts) lets a mixed-language namespace compare its
    languages' best candidates by their best sentence (`level_languages`).
    """
    if config.mode not in MODES:
        raise ValueError(f"unknown retrieval mode {config.mode!r} (one of {', '.join(MODES)})")
    timings = timings if timings is not None else {}
    where = filters.chroma_where() if filters else None
    dense: list[tuple[str, float]] = []
    lex: list[tuple[str, float]] = []
    rows: dict[str, dict] = {}
    sentence: dict[str, float] = {}

    t = time.perf_counter()
    languages = lexical.languages(store.namespace) if lexical is not None else frozenset()
    mixed = config.mode == "auto" and len(languages) > 1
    leaders = mixed and config.language_leaders
    if config.mode != "lexical":
        depth = max(config.candidates, config.mixed_candidates) if leaders else config.candidates
        dense, rows = store.query_dense(query_vector, depth, where)
        if config.crosslingual_bonus and config.language_pool and mixed:
            dense, rows = _per_language_candidates(store, query_vector, config, where, languages, dense, rows)
    timings["dense_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    q_lang = detect_language(question, languages)
    q_terms = lexical_terms(question, q_lang)
    df, total = lexical.document_frequencies(store.namespace, q_terms) if lexical is not None and q_terms else ({}, 0)
    if config.mode != "dense" and lexical is not None:
        lex = lexical.search(store.namespace,
                             selective_terms(q_terms, df, total, config.bm25_max_df, config.bm25_max_terms),
                             config.candidates, filters)
    timings["lexical_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    dense_ids = [cid for cid, _ in dense]
    lex_ids = [cid for cid, _ in lex]
    rows.update(store.get_chunks([cid for cid in lex_ids if cid not in rows]))
    sims = {cid: float(np.dot(row["embedding"], query_vector)) for cid, row in rows.items()}

    weights = idf_weights(q_terms, df, total) if lexical is not None and q_terms else {}
    terms = lexical.terms_of(store.namespace, list(rows)) if lexical is not None else {}
    for cid, row in rows.items():
        if cid not in terms:
            terms[cid] = set(lexical_terms(row["text"], row["meta"].get("lang", "")))
    cover = {cid: coverage(terms[cid], weights) for cid in rows}
    judge = sims if judge_vector is None else {
        cid: float(np.dot(row["embedding"], judge_vector)) for cid, row in rows.items()}
    relevance = {cid: judge[cid] + config.coverage_weight * cover[cid] for cid in rows}
    if config.mode == "dense":
        scores = {cid: sims[cid] for cid in dense_ids if cid in rows}
    elif config.mode == "lexical":
        scores = {cid: -rank for rank, cid in enumerate(lex_ids) if cid in rows}
    elif config.mode == "hybrid":
        scores = rrf([dense_ids, lex_ids], [1.0, config.lexical_weight], config.rrf_k)
    else:
        scores = {cid: sims[cid] + config.coverage_weight * cover[cid] for cid in rows}
        if config.crosslingual_bonus and q_lang and len(languages) > 1:
            for cid in scores:
                lang = rows[cid]["meta"].get("lang", "")
                if lang and lang != q_lang:
                    scores[cid] += config.crosslingual_bonus
        if config.article_weight:  # one more store call: the articles' mean vectors
            vectors = store.article_vectors(list({rows[cid]["meta"].get("article_id", "") for cid in scores}))
            for cid in scores:
                v = vectors.get(rows[cid]["meta"].get("article_id", ""))
                if v is not None:
                    scores[cid] += config.article_weight * float(np.dot(v, query_vector))
        if leaders and q_lang and sentence_vectors is not None:
            t_level = time.perf_counter()
            scores, sentence = level_languages(scores, rows, sims, cover, q_lang, query_vector, config,
                                               sentence_vectors)
            timings["level_ms"] = (time.perf_counter() - t_level) * 1000
    if context_articles:
        for cid in scores:
            if rows[cid]["meta"].get("article_id") in context_articles:
                scores[cid] += config.context_bonus if config.mode == "auto" else 0.0
    top = [cid for cid in sorted(scores, key=lambda c: -scores[c]) if cid in rows][:k]

    dense_rank = {cid: r for r, cid in enumerate(dense_ids, 1)}
    lex_rank = {cid: r for r, cid in enumerate(lex_ids, 1)}
    passages = []
    for cid in top:
        row = rows[cid]
        meta = row["meta"]
        passages.append(
            Passage(
                chunk_id=cid,
                article_id=meta.get("article_id", ""),
                text=row["text"],
                start=int(meta.get("start", 0)),
                end=int(meta.get("end", 0)),
                score=float(scores[cid]),
                dense=sims[cid],
                relevance=relevance[cid],
                dense_rank=dense_rank.get(cid),
                lexical_rank=lex_rank.get(cid),
                title=meta.get("title", ""),
                source=meta.get("source", ""),
                published_at=meta.get("published_at", ""),
                url=meta.get("url", ""),
                lang=meta.get("lang", ""),
                sentence=sentence.get(cid),
            )
        )
    timings["fuse_ms"] = (time.perf_counter() - t) * 1000
    return passages
