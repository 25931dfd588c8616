"""Leave-gold-out questions whose answer is still in the index.

`leavegoldout.py` makes a question unanswerable by removing its gold articles; the near-topic
articles stay, and some of them state the same answer (another outlet's story of the same
week, another paper on the same event). The bot is right to answer those, so the abstain
recall of a leave-gold-out set is reported twice: over every emptied question, as the tool
defines it, and over the ones whose answer no retrieved article states ("clean").

Pure functions over texts; `benchmarks/answer_remains.py` applies them to `newsbot eval` runs.
"""
from __future__ import annotations

import re

from newsbot.index.text.words import normalize_for_match

# An answer counts only as a whole token run: "10" is not in "2010" nor "10,5"; "$5" is not in "$5.01".
_AFTER = r"(?![\w]|[.,]\d)"
_BEFORE = r"(?<![\w])"


def states_answer(text: str, answers: list[str]) -> bool:
    """Whether `text` holds one of `answers` as whole words (case, quotes and spaces folded)."""
    hay = normalize_for_match(text)
    for answer in answers:
        needle = normalize_for_match(answer)
        if needle and re.search(_BEFORE + re.escape(needle) + _AFTER, hay):
            return True
    return False


def answer_remains(answers: list[str], retrieved: list[str], texts: dict[str, str]) -> bool:
    """Whether an article the question retrieved (ids, in any order) still states one of its answers."""
    return any(states_answer(texts[a], answers) for a in dict.fromkeys(retrieved) if a in texts)
