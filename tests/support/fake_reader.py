"""A deterministic reader with no model, for the fast test tier (like fake_embedder.py): the engine
reads, reranks, judges and quotes through the real path; only the scores are cheap.

A window's logit grows with the share of the question's content words (crude stems) it contains:
all of them -> +4, none -> -4. Plugged in as NEWSBOT_READER_MODEL=support.fake_reader:OverlapReader.
"""
from __future__ import annotations

import numpy as np

from newsbot.index.text.words import content_terms, term_stem


class OverlapReader:
    name = "fake-overlap-reader"

    def __init__(self, settings=None) -> None:
        self.calls = 0

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        self.calls += 1
        asked = {term_stem(t) for t in content_terms(question)}
        out = []
        for text in passages:
            found = {term_stem(t) for t in content_terms(text)}
            share = len(asked & found) / len(asked) if asked else 0.0
            out.append(8.0 * share - 4.0)
        return np.array(out, dtype=np.float32)


class RefutingReader(OverlapReader):
    """Reads every window as not answering, beyond doubt: what `ask` does when the reader overrules."""

    name = "fake-refuting-reader"

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        self.calls += 1
        return np.full(len(passages), -10.0, dtype=np.float32)
