"""Which material is for training and which is held back for measuring.

RealTimeQA's train weeks (2023-2026) are split by week, by a hash of the quiz day's week: one
week in five is held back as the RGB-kind dev set (a question, the one result of its week that
states the answer, and the near-topic results that don't), and is never trained on. By week, not
by question: the questions of one week share their news, and a model must not have read a held-back
week's articles under another question.
"""
from __future__ import annotations

import hashlib
from datetime import date

HELD_BACK = 5  # one week in five


def week_of(asked_on: str) -> str:
    """The ISO week of a quiz day ("2023-W01")."""
    year, week, _ = date.fromisoformat(asked_on[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def held_back(asked_on: str) -> bool:
    """Whether a RealTimeQA train question's week belongs to the RGB dev set."""
    if not asked_on:
        return False
    digest = hashlib.sha256(week_of(asked_on).encode()).digest()
    return digest[0] % HELD_BACK == 0
