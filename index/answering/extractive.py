"""Extractive answers with verified citations, and the wording of an abstention.

Whether to answer at all is `answerability`'s judgment. No LLM: the answer is made of
sentences quoted verbatim from the passages judged to answer,
each followed by its [n]. A sentence is chosen by the question's content words it
contains (compared on crude stems, so names and cognates meet across languages)
and by its passage's rank. Every quote is checked against the stored article at
its offsets before it is returned.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from newsbot.index.answering.answerability import NAMES, YEAR
from newsbot.index.answering.question import expected_type, holds_type, question_stems
from newsbot.index.records import Article, Citation, Passage
from newsbot.index.text.words import is_prose, sentence_spans, stems_of

ABSTAIN_TEXT = "The indexed articles don't cover this question."  # = catalogue answer.not_covered, in English


@dataclass(frozen=True)
class Sentence:
    passage_rank: int
    start: int
    end: int
    score: float


def score_sentence(text: str, stems: dict[str, float]) -> float:
    if not stems:
        return 0.0
    found = stems_of(text)
    matched = sum(w for s, w in stems.items() if s in found)
    return matched / math.sqrt(sum(stems.values()))


def pick_sentences(
    question: str, passages: list[Passage], articles: dict[str, Article], max_sentences: int, margin: float = 0.03,
    context: str = "",
) -> list[tuple[Passage, Sentence]]:
    """The sentences to quote: the best sentence of the top passage, the sentence after it when that one
    holds what the question asks for and the best does not, then sentences of passages nearly as relevant
    (score within `margin`) that match the question nearly as well.

    A sentence scores by the question's content words it contains; one holding the kind of thing the
    question asks for (a number for "how many", a date for "when", a new name for "who") scores more,
    and a question quoted in the article less. `context` (a follow-up's earlier question) counts at
    half weight, so "Did he sign it?" finds the sentence about the earlier question's deal."""
    stems = question_stems(question)
    for stem, weight in (question_stems(context) if context else {}).items():
        stems.setdefault(stem, 0.5 * weight)
    if not passages:
        return []
    kind = expected_type(question)
    floor = passages[0].score - margin
    candidates: list[tuple[Passage, Sentence]] = []
    typed: dict[tuple[str, int], bool] = {}
    for rank, passage in enumerate(passages):
        if rank and passage.score < floor:
            continue
        article = articles.get(passage.article_id)
        if article is None:
            continue
        span = max(1, passage.end - passage.start)
        for a, b in sentence_spans(article.text, passage.start, passage.end):
            text = article.text[a:b]
            if not is_prose(text):
                continue  # photo credits, datelines
            lexical = score_sentence(text, stems)
            if text.rstrip("\"'”’») ").endswith("?"):
                lexical *= 0.3  # a question in the article restates, it does not answer
            typed[(passage.article_id, a)] = holds_type(kind, text, question)
            if kind and typed[(passage.article_id, a)]:
                lexical *= TYPE_BONUS
            # Among equal matches prefer the better passage, then the earlier sentence.
            candidates.append((passage,
                               Sentence(rank, a, b, lexical - 0.01 * rank - 0.001 * (a - passage.start) / span)))
    lead = max((c for c in candidates if c[1].passage_rank == candidates[0][1].passage_rank), key=lambda c: c[1].score,
               default=None)
    if lead is None:
        return []
    picked = [lead]
    seen = {(lead[0].article_id, lead[1].start)}
    if kind and not typed.get((lead[0].article_id, lead[1].start)) and max_sentences > 1:
        following = _next_holding(kind, question, articles[lead[0].article_id], lead[1].end)
        if following is not None:
            picked.append((lead[0], Sentence(lead[1].passage_rank, *following, lead[1].score)))
            seen.add((lead[0].article_id, following[0]))
    for passage, sentence in sorted(candidates, key=lambda c: -c[1].score):
        if len(picked) >= max_sentences or sentence.score < max(0.7 * lead[1].score, 1e-9):
            break
        if (passage.article_id, sentence.start) in seen:
            continue
        seen.add((passage.article_id, sentence.start))
        picked.append((passage, sentence))
    return picked


TYPE_BONUS = 1.3  # a sentence holding the asked kind of thing outranks one that only repeats the question
NEIGHBOURS = 2  # how many sentences after the best one may be looked at for what the question asks


def _next_sentence(article: Article, after: int) -> tuple[int, int] | None:
    """The sentence that follows offset `after` in the same paragraph (the answer often comes right
    after the sentence that repeats the question's words), or None."""
    spans = sentence_spans(article.text, after, min(len(article.text), after + 1500))
    if not spans or "\n\n" in article.text[after:spans[0][0]]:
        return None
    a, b = spans[0]
    return (a, b) if is_prose(article.text[a:b]) else None


def defuse_markers(text: str) -> str:
    """An article's own "[9]" would read as a citation: show it with full-width brackets."""
    return re.sub(r"\[(\d+)\]", "［\\1］", text)


def abstention(judgment, lang: str = "en") -> str:
    """What `answer` says when the judgment is that no article answers, in the question's language
    (from the message catalogue; the JSON carries the reason as data for front ends that word it
    in their reader's language)."""
    from newsbot.index.i18n.catalogue import Messages

    m = Messages(lang)
    text = m.t("answer.not_covered")
    if judgment.reason == NAMES and judgment.names:
        return f"{text} {m.t('answer.names', names=m.t('answer.or').join(judgment.names))}"
    if judgment.reason == YEAR and judgment.years:
        return f"{text} {m.t('answer.year', years=m.t('answer.or').join(judgment.years))}"
    return text


def no_words(lang: str = "en") -> str:
    """The answer to a question without a word an article could answer ("?!", "*", "OR")."""
    from newsbot.index.i18n.catalogue import Messages

    return Messages(lang).t("answer.no_words")


def closest_sentence(question: str, passages: list[Passage], articles: dict[str, Article],
                     context: str = "") -> Citation | None:
    """The best sentence of the closest passage, shown as "closest, may not answer" beside an abstention."""
    picked = pick_sentences(question, passages[:1], articles, 1, context=context)
    if not picked:
        return None
    passage, sentence = picked[0]
    article = articles[passage.article_id]
    return Citation(1, article.id, article.title, article.source, article.published_at, article.url,
                    article.text[sentence.start:sentence.end], sentence.start, sentence.end, passage.chunk_id)


def compose(
    question: str,
    passages: list[Passage],
    articles: dict[str, Article],
    max_sentences: int = 3,
    context: str = "",
) -> tuple[str, list[Citation]]:
    """(answer text, citations): sentences quoted from passages judged to answer the question."""
    return quote_sentences(pick_sentences(question, passages, articles, max_sentences, context=context), articles)


def quote_sentences(picked: list[tuple[Passage, Sentence]], articles: dict[str, Article]) -> tuple[str, list[Citation]]:
    """(answer text, citations) quoting `pick_sentences`'s choice."""
    parts: list[str] = []
    citations: list[Citation] = []
    number: dict[str, int] = {}
    for passage, sentence in picked:
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
        return ABSTAIN_TEXT, []
    return " ".join(parts), citations


def compose_read(question: str, passages: list[Passage], windows, articles: dict[str, Article],
                 max_sentences: int = 3, lead: str = "", context: str = "",
                 picked: list[tuple[Passage, Sentence]] | None = None) -> tuple[str, list[Citation]]:
    """(answer text, citations) with the reader: its best window in the first of the `passages` from the
    `lead` article (the article `compose` quotes first: `pick_sentences`'s first) comes first, then the sentences
    `compose` would quote that the window does not hold. The reader's window holds the answer more often than
    the best-matching sentence does, but the sentence match still finds answers in a second article, which
    the reader alone missed on English news; together they showed the answer at least as often as today's
    path on every dev half (docs/reader.md, stop 39). When the `question` asks for a kind of thing (a name
    for "who", a number for "how many") that the window does not hold, the next sentence of its paragraph
    that holds it follows the window, as `pick_sentences` does. Without a window there, this is `compose`.
    `picked`: `pick_sentences`'s choice, when the caller has it already (it found the lead article with it)."""
    if picked is None:
        picked = pick_sentences(question, passages, articles, max_sentences, context=context)
    first = next((p.chunk_id for p in passages if p.article_id == lead), None)
    usable = [w for w in windows if w.chunk_id == first and lead in articles]
    if not usable:
        return quote_sentences(picked, articles)
    best = _with_overlapping(max(usable, key=lambda w: w.score), usable)
    quotes = [(best.article_id, best.start, best.end, best.chunk_id)]
    following = _typed_next(question, articles[lead], best) if max_sentences > 1 else None
    if following is not None:
        quotes.append((lead, following[0], following[1], best.chunk_id))
    for passage, sentence in picked:
        if not any(aid == passage.article_id and sentence.start < b and a < sentence.end for aid, a, b, _ in quotes):
            quotes.append((passage.article_id, sentence.start, sentence.end, passage.chunk_id))
    citations = []
    for n, (aid, a, b, chunk_id) in enumerate(quotes, 1):
        article = articles[aid]
        citations.append(Citation(n, article.id, article.title, article.source, article.published_at, article.url,
                                  article.text[a:b], a, b, chunk_id))
    return " ".join(f"{defuse_markers(' '.join(c.quote.split()))} [{c.n}]" for c in citations), citations


def _with_overlapping(best, windows):
    """`best` stretched over the windows that overlap it: overlapping windows are consecutive sentences, so
    the quote reads as one stretch, and the reader's second window often holds what its first lacks (the
    agency's name, "Japan", in the sentence before the alert). On the dev halves (docs/reader.md, stop 42)
    it showed one more answer in each half of rtqa and rgb, about 75 characters longer on English news.
    `windows`: those of `best`'s passage."""
    start, end = best.start, best.end
    for w in windows:
        if w.start < end and start < w.end:
            start, end = min(start, w.start), max(end, w.end)
    return replace(best, start=start, end=end)


def _typed_next(question: str, article: Article, window) -> tuple[int, int] | None:
    """The (start, end) of the first of the NEIGHBOURS sentences after `window` in its paragraph that holds
    what `question` asks for, when the window itself does not; else None."""
    kind = expected_type(question) if question else None
    if not kind or holds_type(kind, article.text[window.start:window.end], question):
        return None
    return _next_holding(kind, question, article, window.end)


def _next_holding(kind: str, question: str, article: Article, end: int) -> tuple[int, int] | None:
    """The first of the NEIGHBOURS sentences after offset `end` in its paragraph that holds the asked `kind`."""
    for _ in range(NEIGHBOURS):
        following = _next_sentence(article, end)
        if following is None:
            return None
        if holds_type(kind, article.text[following[0]:following[1]], question):
            return following
        end = following[1]
    return None


def verify_citations(citations: list[Citation], articles: dict[str, Article]) -> list[Citation]:
    """Keep only citations whose quote is exactly the article's text at their offsets."""
    good = []
    for c in citations:
        article = articles.get(c.article_id)
        if (article is not None and 0 <= c.start < c.end <= len(article.text)
                and article.text[c.start : c.end] == c.quote):
            good.append(c)
    return good
