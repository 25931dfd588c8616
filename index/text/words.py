"""Pure text helpers: cleaning, hashing, sentence spans, terms for lexical matching.

Offsets matter here: every function that finds pieces of a text returns spans
into that same text, so a citation can always slice its quote back out.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from importlib import resources

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'", "`": "'"})


def clean_text(text: str) -> str:
    """Normalise an article body once, before it is stored.

    NFC, no zero-width or control characters, unified line ends, no trailing
    spaces, at most one blank line in a row. Stored text is never altered again,
    so offsets computed on it stay valid.
    """
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def content_hash(text: str) -> str:
    """Hash of the whitespace-folded text: the same article re-pasted hashes the same."""
    folded = " ".join(text.split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def normalize_for_match(text: str) -> str:
    """Case, quote and whitespace folded form, for comparing answers and quotes."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_QUOTES)
    return " ".join(text.lower().split())


def derive_title(text: str, limit: int = 90) -> str:
    """A title for an article that has none: its first line, cut at a word."""
    first = next((line.strip().lstrip("#>*- ").strip() for line in text.splitlines() if line.strip().lstrip("#>*- ")),
                 "")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-–—") + "…"


# A candidate sentence end: . ! ? … (with closing quotes/brackets) then whitespace, or a line break.
_SENT_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s)|\n+""")
_ABBREV = frozenset("dr mr mrs ms st jr sr prof gen sen rep gov lt col sgt capt no vs etc inc corp ltd co jan feb mar "
                    "apr jun jul aug sep sept oct nov dec u.s u.k".split())


def _is_sentence_end(text: str, m: re.Match, end: int) -> bool:
    if text[m.start()] == "\n":
        return True
    i = m.end()
    while i < end and text[i].isspace():
        i += 1
    while i < end and not text[i].isalnum():
        i += 1
    if i < end and text[i].islower():
        return False  # '“...,” katanya' or 'e.g. this' continues the sentence
    before = text[max(0, m.start() - 6):m.start()].split()
    word = before[-1].lower() if before else ""
    if text[m.start()] == "." and (word in _ABBREV or (len(word) == 1 and word.isalpha())):
        return False
    return True


def is_prose(sentence: str) -> bool:
    """Whether a sentence says something (12 letters or more), not a photo credit, caption or dateline
    ("Foto: AP", "Jakarta -")."""
    return sum(c.isalpha() for c in sentence) >= 12


def sentences_of(text: str) -> list[str]:
    """The sentences of a chunk worth comparing with a question on their own (`is_prose`). Ranking in a
    mixed-language index embeds them (`retrieval.level_languages`)."""
    return [text[a:b] for a, b in sentence_spans(text) if is_prose(text[a:b])]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets into `text` within [start, end), trimmed of spaces."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENT_END.finditer(text, start, end):
        if not _is_sentence_end(text, m, end):
            continue
        cut = m.start() if text[m.start()] == "\n" else m.end()
        _append_trimmed(text, pos, cut, spans)
        pos = m.end()
    _append_trimmed(text, pos, end, spans)
    return spans


def sentence_runs(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """For each sentence span, the run from its start through as many of the following sentences
    as fit in `max_chars` (the sentence alone when it is longer): the reader's windows, at run time
    and in its training pairs alike."""
    runs = []
    for i, (start, end) in enumerate(spans):
        stop = end
        for _, next_end in spans[i + 1:]:
            if next_end - start > max_chars:
                break
            stop = next_end
        runs.append((start, stop))
    return runs


def _append_trimmed(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))


_WORD = re.compile(r"\w+", re.UNICODE)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens."""
    return _WORD.findall(strip_accents(text.lower()))


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English and Indonesian function words, which carry no topic."""
    out: set[str] = set()
    for name in ("en.txt", "id.txt"):
        data = resources.files(__package__).joinpath("stopwords", name).read_text(encoding="utf-8")
        out.update(w.strip() for w in data.split() if w.strip())
    return frozenset(out)


def content_terms(text: str) -> list[str]:
    """Words that can carry topic: no stop words, no single letters."""
    stop = stopwords()
    return [w for w in words(text) if len(w) > 1 and w not in stop]


def term_stem(term: str) -> str:
    """A crude, language-neutral stem (the first 6 letters) so that
    "minerals"/"mineral" or "Zelenskyy"/"Zelensky" meet across languages."""
    return term[:6] if not term.isdigit() else term


def lexical_terms(text: str, lang: str = "") -> list[str]:
    """The terms of the lexical index and of sentence matching: stems of content words.

    Crude prefix stems for every language keep the index language-neutral, so that
    names, numbers and cognates ("Zelenskyy", "mineral", "2025") match across languages.
    Indonesian text is first stemmed with Sastrawi (dictionary-based: it removes
    affixes such as me-/di-/-kan, and leaves names alone).
    """
    terms = content_terms(text)
    if lang == "id":
        terms = [_stem_id(t) for t in terms]
    return [term_stem(t) for t in terms if t]


_YEAR = re.compile(r"(?<!\d)(?<!\d[.,])(?:1[89]|20)\d\d(?!\d)(?![.,]\d)")


def years(text: str) -> set[str]:
    """The years (1800-2099) a text names: "2022", not "12.000" or "20225"."""
    return set(_YEAR.findall(text))


@lru_cache(maxsize=1)
def _sastrawi():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=200_000)
def _stem_id(word: str) -> str:
    if word.isdigit() or len(word) < 5:
        return word
    return _sastrawi().stem(word) or word


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


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KB": sizes as people read them."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
