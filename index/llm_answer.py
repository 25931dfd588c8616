"""Generated answers: the prompt, and the verification every LLM answer passes.

The LLM sees numbered sources (title, outlet, date, passage text) and is asked to
cite every sentence. Its reply is never trusted: `verify` keeps a sentence only if
it cites a source that was given, and every span it quotes is found in a cited
article. A number that names no source is dropped, never guessed: "repairing" it
to the source whose words match would obey an article that says "cite [9]". What it removes is recorded. Each kept source becomes a Citation
quoting, verbatim and at its offsets, the passage sentence that best supports the
answer, so a generated answer is checked exactly like an extractive one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from .errors import ConfigError
from .records import Article, Citation, Passage, Removal
from .answer import stem_weights, stems_of
from .text import normalize_for_match, sentence_spans

NOT_FOUND = "NOT_IN_SOURCES"
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
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
_QUOTED = re.compile(r"“([^“”]{3,}?)”|\"([^\"]{3,}?)\"|«([^«»]{3,}?)»|„([^„“”]{3,}?)[“”]")
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
        directory = Path(directory or PROMPTS_DIR)
        try:
            return cls((directory / "system.txt").read_text("utf-8").strip(),
                       Template((directory / "answer.txt").read_text("utf-8")))
        except OSError as exc:
            raise ConfigError(f"cannot read the prompt templates in {directory}: {exc.strerror or exc}") from None


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


def build_prompt(prompts: Prompts, question: str, sources: list[Source], language: str, today: str) -> tuple[str, str]:
    """(system message, user message)."""
    name = LANGUAGES.get(language, "the language of the question")
    user = prompts.answer.safe_substitute(sources=render_sources(sources), question=question, language=name, today=today)
    return prompts.system, user


# ----------------------------------------------------------------- verification


def _normalise_markers(text: str) -> str:
    """"[1, 2]" -> "[1][2]", and "said so. [1]" -> "said so [1]." (the marker stays with its sentence)."""
    text = _MARKERS.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)
    return _TRAILING_MARKERS.sub(lambda m: " " + "".join(f"[{n}]" for n in _NUMBER.findall(m.group(2))) + m.group(1), text)


def support(claim: dict[str, float], text: str) -> float:
    """The weighted share of a claim's content words found in `text` (0..1)."""
    if not claim:
        return 0.0
    found = stems_of(text)
    return sum(w for s, w in claim.items() if s in found) / sum(claim.values())


def quoted_spans(sentence: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(sentence)]


def verify(reply: str, sources: list[Source]) -> Verified:
    """Keep the sentences of `reply` that cite a given source and quote only what a cited article says."""
    by_n = {s.n: s for s in sources}
    removed: list[Removal] = []
    kept: list[tuple[str, list[int]]] = []
    text = _normalise_markers(reply.strip())
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
                removed.append(Removal("invalid_citation", f"[{n}]", f"there is no source [{n}] (only {len(sources)} were given)"))
        if not valid:
            removed.append(Removal("uncited_sentence", body, "the sentence cites no given source"))
            continue
        cited_texts = [normalize_for_match(by_n[n].article.text) for n in valid]
        bad = [q for q in quoted_spans(body) if not any(normalize_for_match(q) in t for t in cited_texts)]
        if bad:
            removed.append(Removal("unverified_quote", body, f"“{bad[0][:120]}” is not in the cited article"))
            continue
        kept.append((body, valid))
    return _assemble(kept, by_n, removed, said_not_found)


def _assemble(kept: list[tuple[str, list[int]]], by_n: dict[int, Source], removed: list[Removal], said_not_found: bool) -> Verified:
    renumber: dict[int, int] = {}
    claims: dict[int, list[str]] = {}
    parts = []
    for body, numbers in kept:
        for n in numbers:
            renumber.setdefault(n, len(renumber) + 1)
            claims.setdefault(n, []).append(body)
        head, tail = _END.match(body).groups()
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
