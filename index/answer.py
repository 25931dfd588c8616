"""Extractive answers with verified citations, and abstention.

No LLM: the answer is made of sentences quoted verbatim from the top passages,
each followed by its [n]. A sentence is chosen by the question's content words it
contains (compared on crude stems, so names and cognates meet across languages)
and by its passage's rank. Every quote is checked against the stored article at
its offsets before it is returned.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .records import Article, Citation, Passage
from .text import content_terms, sentence_spans, term_stem, years

ABSTAIN_TEXT = "The indexed articles don't cover this question."


@dataclass(frozen=True)
class Sentence:
    passage_rank: int
    start: int
    end: int
    score: float


def stem_weights(text: str, emphasised: frozenset[str] = frozenset(), numbers: bool = False) -> dict[str, float]:
    """Stem -> weight of the text's content words: longer words weigh more, the `emphasised` ones
    (and, with `numbers`, numbers) one more."""
    stems: dict[str, float] = {}
    for term in content_terms(text):
        weight = 1.0 + min(len(term), 12) / 12 + (1.0 if term in emphasised or (numbers and term.isdigit()) else 0.0)
        stem = term_stem(term)
        stems[stem] = max(stems.get(stem, 0.0), weight)
    return stems


def stems_of(text: str) -> set[str]:
    return {term_stem(t) for t in content_terms(text)}


def question_stems(question: str) -> dict[str, float]:
    """Stem -> weight; longer and capitalised words (names, places) and numbers weigh more."""
    caps = frozenset(w.strip("\"'“”‘’?.,!:;()").lower() for w in question.split()[1:] if w[:1].isupper())
    return stem_weights(question, caps, numbers=True)


def score_sentence(text: str, stems: dict[str, float]) -> float:
    if not stems:
        return 0.0
    found = stems_of(text)
    matched = sum(w for s, w in stems.items() if s in found)
    return matched / math.sqrt(sum(stems.values()))


def pick_sentences(
    question: str, passages: list[Passage], articles: dict[str, Article], max_sentences: int, margin: float = 0.03
) -> list[tuple[Passage, Sentence]]:
    """The lead sentence of the top passage, then sentences of passages nearly as
    relevant (score within `margin`) that match the question nearly as well."""
    stems = question_stems(question)
    if not passages:
        return []
    floor = passages[0].score - margin
    candidates: list[tuple[Passage, Sentence]] = []
    for rank, passage in enumerate(passages):
        if rank and passage.score < floor:
            continue
        article = articles.get(passage.article_id)
        if article is None:
            continue
        span = max(1, passage.end - passage.start)
        for a, b in sentence_spans(article.text, passage.start, passage.end):
            if sum(c.isalpha() for c in article.text[a:b]) < 12:
                continue  # photo credits, datelines
            lexical = score_sentence(article.text[a:b], stems)
            if article.text[a:b].rstrip("\"'”’») ").endswith("?"):
                lexical *= 0.3  # a question in the article restates, it does not answer
            # Among equal matches prefer the better passage, then the earlier sentence.
            candidates.append((passage, Sentence(rank, a, b, lexical - 0.01 * rank - 0.001 * (a - passage.start) / span)))
    lead = max((c for c in candidates if c[1].passage_rank == candidates[0][1].passage_rank), key=lambda c: c[1].score, default=None)
    if lead is None:
        return []
    picked = [lead]
    seen = {(lead[0].article_id, lead[1].start)}
    for passage, sentence in sorted(candidates, key=lambda c: -c[1].score):
        if len(picked) >= max_sentences or sentence.score < max(0.7 * lead[1].score, 1e-9):
            break
        if (passage.article_id, sentence.start) in seen:
            continue
        seen.add((passage.article_id, sentence.start))
        picked.append((passage, sentence))
    return picked


def defuse_markers(text: str) -> str:
    """An article's own "[9]" would read as a citation: show it with full-width brackets."""
    return re.sub(r"\[(\d+)\]", "［\\1］", text)


def not_covered(names: list[str]) -> str:
    """The abstention for a question about names no indexed article mentions (no quote marks: they
    would read as a quotation from an article)."""
    return f"{ABSTAIN_TEXT} No indexed article mentions {' or '.join(names)}."


def about_another_year(asked: set[str], article: Article | None) -> bool:
    """The question names a year (or years) that the article neither mentions nor was published in
    (or the year after): "Who won the 2022 World Cup?" is not answered from a 2024 article on the
    2026 qualifiers. An undated article cannot be judged, so it is never excluded."""
    if not asked or article is None or not article.published_at[:4].isdigit():
        return False
    published = int(article.published_at[:4])
    return not (asked & years(article.text) or any(published in (int(y), int(y) + 1) for y in asked))


def relevant_passages(
    passages: list[Passage], threshold: float, question: str = "", articles: dict[str, Article] | None = None
) -> list[Passage]:
    """The passages relevant enough to answer from (what abstention is judged by): above the
    threshold and, when the question names a year, from an article about that year."""
    asked = years(question)
    return [p for p in passages if (p.relevance or 0.0) >= threshold
            and not about_another_year(asked, (articles or {}).get(p.article_id))]


def compose(
    question: str,
    passages: list[Passage],
    articles: dict[str, Article],
    threshold: float,
    max_sentences: int = 3,
) -> tuple[str, list[Citation], bool]:
    """(answer text, citations, abstained)."""
    best = max((p.relevance or 0.0 for p in passages), default=0.0)
    if not passages or best < threshold:
        return ABSTAIN_TEXT, [], True
    relevant = relevant_passages(passages, threshold, question, articles)
    if not relevant:
        return f"{ABSTAIN_TEXT} No matching article is from or mentions {' or '.join(sorted(years(question)))}.", [], True
    parts: list[str] = []
    citations: list[Citation] = []
    number: dict[str, int] = {}
    for passage, sentence in pick_sentences(question, relevant, articles, max_sentences):
        article = articles[passage.article_id]
        quote = article.text[sentence.start : sentence.end]
        key = f"{passage.article_id}:{sentence.start}"
        if key not in number:
            number[key] = len(citations) + 1
            citations.append(
                Citation(
                    n=number[key],
                    article_id=article.id,
                    title=article.title,
                    source=article.source,
                    published_at=article.published_at,
                    url=article.url,
                    quote=quote,
                    start=sentence.start,
                    end=sentence.end,
                    chunk_id=passage.chunk_id,
                )
            )
        parts.append(f"{defuse_markers(' '.join(quote.split()))} [{number[key]}]")
    if not citations:
        return ABSTAIN_TEXT, [], True
    return " ".join(parts), citations, False


def verify_citations(citations: list[Citation], articles: dict[str, Article]) -> list[Citation]:
    """Keep only citations whose quote is exactly the article's text at their offsets."""
    good = []
    for c in citations:
        article = articles.get(c.article_id)
        if article is not None and 0 <= c.start < c.end <= len(article.text) and article.text[c.start : c.end] == c.quote:
            good.append(c)
    return good
