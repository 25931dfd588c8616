"""Sentence windows: what the reader reads. Reading costs the same per token as embedding, so the
reader sees a few sentences, never a whole article (about 150 tokens at most)."""
from __future__ import annotations

from newsbot.index.text.words import content_terms, normalize_for_match, sentence_runs, sentence_spans

MAX_WINDOW_CHARS = 600


def windows(text: str, max_chars: int = MAX_WINDOW_CHARS) -> list[str]:
    """Consecutive sentences, as many as fit in `max_chars`, starting at each sentence; a sentence
    longer than that is its own window, cut at the last space before the limit."""
    out: list[str] = []
    for start, stop in sentence_runs(sentence_spans(text) or [(0, len(text))], max_chars):
        window = text[start:stop]
        if len(window) > max_chars:
            window = window[:max_chars].rsplit(" ", 1)[0]
        if window.strip() and (not out or window != out[-1]):
            out.append(window.strip())
    return out


def answering_window(text: str, answers: list[str]) -> str | None:
    """The shortest window that states one of the answers (None when the text states none)."""
    needles = [normalize_for_match(a) for a in answers if normalize_for_match(a)]
    found = [w for w in windows(text) if any(n in normalize_for_match(w) for n in needles)]
    return min(found, key=len) if found else None


def closest_window(text: str, question: str, avoid: list[str] = ()) -> str | None:
    """The window sharing the most content words with the question: the hardest negative in a
    passage that does not answer it (and what a reader would be asked to judge there). Windows
    stating an answer in `avoid` are skipped: they would be mislabelled."""
    terms = set(content_terms(question))
    needles = [normalize_for_match(a) for a in avoid if normalize_for_match(a)]
    best, best_score = None, -1
    for w in windows(text):
        if needles and any(n in normalize_for_match(w) for n in needles):
            continue
        score = len(terms & set(content_terms(w)))
        if score > best_score:
            best, best_score = w, score
    return best
