"""Generated answers: the prompt, and the verification every LLM answer passes.

The LLM sees numbered sources (title, outlet, date, passage text) and is asked to
cite every sentence. Its reply is never trusted: `verify` keeps a sentence only if
it cites a source that was given, and every span it quotes is found in a cited
article. A number that names no source is dropped, never guessed: "repairing" it
to the source whose words match would obey an article that says "cite [9]". What it removes is
recorded. Each kept source becomes a Citation
quoting, verbatim and at its offsets, the passage sentence that best supports the
answer, so a generated answer is checked exactly like an extractive one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Callable

from newsbot.index.errors import ConfigError
from newsbot.index.records import Article, Citation, Passage, Removal
from newsbot.index.text.words import normalize_for_match, sentence_spans, stem_weights, stems_of

NOT_FOUND = "NOT_IN_SOURCES"  # the refusal phrase: defined here once, spliced into the prompts as $cannot_answer
PROMPTS_PACKAGE = "newsbot.prompts"  # prompts/ in the checkout, package data when installed
LANGUAGES = {
    "en": "English", "id": "Indonesian", "ms": "Malay", "fr": "French", "de": "German", "es": "Spanish",
    "pt": "Portuguese", "it": "Italian", "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "ar": "Arabic",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "hi": "Hindi", "tr": "Turkish", "pl": "Polish",
}

# "[2]", "[1, 3]", "[Source 2]" -> the numbers; other bracketed text is left alone.
_MARKERS = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*\]", re.IGNORECASE)
_NUMBER = re.compile(r"\[(\d+)\]")
# Markers written after the full stop ("... deal. [1]") are moved before it, so they stay with their sentence.
_TRAILING_MARKERS = re.compile(r"""([.!?…]+["'”’»)]*)((?:[ \t]*\[\d+\])+)""")
# Quoted spans in every common style: “…” "…" «…» „…“ ‘…’ '…' 「…」 『…』 ‹…› ＂…＂ ‚…‘. Single quotes
# count only at word boundaries, so apostrophes ("Trump's", "isn't") are not taken for quotes.
_QUOTED = re.compile(
    r"“([^“”]{3,}?)”|\"([^\"]{3,}?)\"|«([^«»]{3,}?)»|„([^„“”]{3,}?)[“”]|「([^「」]{2,}?)」|『([^『』]{2,}?)』"
    r"|‹([^‹›]{3,}?)›|＂([^＂]{3,}?)＂|‚([^‚‘’]{3,}?)[‘’]"
    r"|(?<![\w‘’])‘((?:[^‘’\n]|(?<=\w)’(?=\w)){3,}?)’(?![\w‘’])"
    r"|(?<![\w'])'((?:[^'\n]|(?<=\w)'(?=\w)){3,}?)'(?![\w'])"
)
MAX_REPLY_CHARS = 8000  # longer replies are cut before checking: no answer needs more, and checking is not free
# Cosine between a claim and the best sentence of the passages it cites, below which the claim is
# unsupported (unless it shares most of its content words with them). Fitted by
# benchmarks/support_threshold.py on half of idmt-dev (English claims, Indonesian sources): the 3rd
# percentile of true supports (0.832). On the other half it keeps 0.959 of true supports and 0.007 of
# random sentences; a near-topic sentence passes 0.727 of the time (numbers and quotes catch those).
SUPPORT_THRESHOLD = 0.83
LEXICAL_SUPPORT = 0.5
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*")
_END = re.compile(r"""^(.*?)([.!?…]*["'”’»)]*)$""", re.DOTALL)


@dataclass(frozen=True)
class Source:
    """A passage as the LLM sees it, numbered from 1."""

    n: int
    passage: Passage
    article: Article

    @property
    def text(self) -> str:
        return self.article.text[self.passage.start : self.passage.end]


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: Template

    @classmethod
    def load(cls, directory: Path | None = None) -> "Prompts":
        """The templates in `directory` (NEWSBOT_PROMPTS_DIR), else the ones installed with newsbot."""
        folder: Traversable = Path(directory) if directory else resources.files(PROMPTS_PACKAGE)
        try:
            return cls((folder / "system.txt").read_text("utf-8").strip(),
                       Template((folder / "answer.txt").read_text("utf-8")))
        except OSError as exc:
            raise ConfigError(f"cannot read the prompt templates in {folder}: {exc.strerror or exc}") from None


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    removed: list[Removal]
    said_not_found: bool


def number_sources(passages: list[Passage], articles: dict[str, Article], limit: int) -> list[Source]:
    usable = [p for p in passages if p.article_id in articles][:limit]
    return [Source(i + 1, p, articles[p.article_id]) for i, p in enumerate(usable)]


def _attribute(value: str) -> str:
    return " ".join(value.split()).replace('"', "'").replace("<", "‹").replace(">", "›")


def render_sources(sources: list[Source]) -> str:
    """Sources in <source> tags; tag look-alikes inside the text are defused so a source cannot close its own tag."""
    blocks = []
    for s in sources:
        a = s.article
        body = re.sub(r"<(/?\s*source)", r"‹\1", s.text, flags=re.IGNORECASE)
        blocks.append(
            f'<source n="{s.n}" title="{_attribute(a.title)}" outlet="{_attribute(a.source or "unknown")}" '
            f'date="{a.published_at or "undated"}">\n{body.strip()}\n</source>'
        )
    return "\n\n".join(blocks)


def build_prompt(prompts: Prompts, question: str, sources: list[Source], language: str, today: str,
                 answer_language: str = "") -> tuple[str, str]:
    """(system message, user message). `language` is the question's; `answer_language` the one the
    reader gets (the member's, the server's, or the question's)."""
    name = LANGUAGES.get(language, "the language of the question")
    answer_name = LANGUAGES.get(answer_language, name) if answer_language else name
    user = prompts.answer.safe_substitute(sources=render_sources(sources), question=question, language=name,
                                          answer_language=answer_name, today=today, cannot_answer=NOT_FOUND)
    return Template(prompts.system).safe_substitute(cannot_answer=NOT_FOUND), user


# ----------------------------------------------------------------- verification


def _normalise_markers(text: str) -> str:
    """"[1, 2]" -> "[1][2]", and "said so. [1]" -> "said so [1]." (the marker stays with its sentence)."""
    text = _MARKERS.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)
    return _TRAILING_MARKERS.sub(lambda m: " " + "".join(f"[{n}]" for n in _NUMBER.findall(m.group(2))) + m.group(1),
                                 text)


def support(claim: dict[str, float], text: str) -> float:
    """The weighted share of a claim's content words found in `text` (0..1)."""
    if not claim:
        return 0.0
    found = stems_of(text)
    return sum(w for s, w in claim.items() if s in found) / sum(claim.values())


def quoted_spans(sentence: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(sentence)]


def numbers_in(text: str) -> set[str]:
    """Numbers with their separators removed, so "40,000" (English) meets "40.000" (Indonesian)."""
    return {re.sub(r"[.,]", "", n) for n in _NUMBER_TOKEN.findall(text)}


def unsupported(claim: str, cited: list[Source], similarity: Callable[[str, list[Source]], float] | None) -> str:
    """Why the cited passages do not support `claim`, or "" when they do.

    A number the claim states must appear in a cited passage (or its title or date); and the claim
    must share most of its content words with the cited passages, or be close in meaning (the
    embedding model's cosine, which also works across languages) to one of their sentences."""
    texts = [f"{s.article.title} {s.article.published_at} {s.text}" for s in cited]
    missing = numbers_in(claim) - set().union(*(numbers_in(t) for t in texts))
    if missing:
        return f"the cited source does not state {sorted(missing)[0]}"
    words = stem_weights(claim)
    lexical = support(words, " ".join(texts))
    if lexical >= LEXICAL_SUPPORT or not words:
        return ""
    if similarity is None:
        return f"shares too few words with the cited source ({lexical:.2f})"
    closest = similarity(claim, cited)
    if closest >= SUPPORT_THRESHOLD:
        return ""
    return f"the cited source does not say this (closest sentence similarity {closest:.2f}, shared words {lexical:.2f})"


def verify(reply: str, sources: list[Source],
           similarity: Callable[[str, list[Source]], float] | None = None) -> Verified:
    """Keep the sentences of `reply` that cite a given source, quote only what a cited article says,
    and say what the cited passages say (`unsupported`; `similarity` is the embedding check)."""
    by_n = {s.n: s for s in sources}
    removed: list[Removal] = []
    kept: list[tuple[str, list[int]]] = []
    reply = reply.strip()
    if len(reply) > MAX_REPLY_CHARS:
        removed.append(Removal("truncated", reply[MAX_REPLY_CHARS:MAX_REPLY_CHARS + 120],
                               f"the reply had {len(reply):,} characters; only the first {MAX_REPLY_CHARS:,} were "
                               f"checked"))
        reply = reply[:MAX_REPLY_CHARS]
    text = _normalise_markers(reply)
    said_not_found = NOT_FOUND in text
    text = text.replace(NOT_FOUND, " ")
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        numbers = list(dict.fromkeys(int(n) for n in _NUMBER.findall(sentence)))
        body = " ".join(_NUMBER.sub(" ", sentence).split())
        body = re.sub(r"\s+([.,;:!?…])", r"\1", body)
        if sum(ch.isalnum() for ch in body) < 2:
            continue  # a stray marker or punctuation
        valid = [n for n in numbers if n in by_n]
        for n in numbers:
            if n not in by_n:
                removed.append(Removal("invalid_citation", f"[{n}]", f"there is no source [{n}] (only {len(sources)} "
                                                                     f"were given)"))
        if not valid:
            removed.append(Removal("uncited_sentence", body, "the sentence cites no given source"))
            continue
        cited_texts = [normalize_for_match(by_n[n].article.text) for n in valid]
        bad = [q for q in quoted_spans(body) if not any(normalize_for_match(q) in t for t in cited_texts)]
        if bad:
            removed.append(Removal("unverified_quote", body, f"“{bad[0][:120]}” is not in the cited article"))
            continue
        why = unsupported(body, [by_n[n] for n in valid], similarity)
        if why:
            removed.append(Removal("unsupported_claim", body, why))
            continue
        kept.append((body, valid))
    return _assemble(kept, by_n, removed, said_not_found)


def _assemble(kept: list[tuple[str, list[int]]], by_n: dict[int, Source], removed: list[Removal],
              said_not_found: bool) -> Verified:
    renumber: dict[int, int] = {}
    claims: dict[int, list[str]] = {}
    parts = []
    for body, numbers in kept:
        for n in numbers:
            renumber.setdefault(n, len(renumber) + 1)
            claims.setdefault(n, []).append(body)
        end = _END.match(body)  # matches any string
        head, tail = end.groups() if end else (body, "")
        parts.append(f"{head.rstrip()} {''.join(f'[{renumber[n]}]' for n in numbers)}{tail}")
    citations = [_citation(renumber[n], by_n[n], claims[n]) for n in renumber]
    return Verified(" ".join(parts), citations, removed, said_not_found)


def _citation(number: int, source: Source, claims: list[str]) -> Citation:
    """Quote the passage sentence that best supports the claims (one holding a quoted span wins)."""
    article, passage = source.article, source.passage
    spans = sentence_spans(article.text, passage.start, passage.end) or [(passage.start, passage.end)]
    claim = stem_weights(" ".join(claims))
    quotes = [normalize_for_match(q) for c in claims for q in quoted_spans(c)]

    def score(span: tuple[int, int]) -> tuple[int, float, int]:
        sentence = article.text[span[0]:span[1]]
        holds_quote = any(q in normalize_for_match(sentence) for q in quotes)
        return (holds_quote, support(claim, sentence), -span[0])

    start, end = max(spans, key=score)
    return Citation(number, article.id, article.title, article.source, article.published_at, article.url,
                    article.text[start:end], start, end, passage.chunk_id)
