"""Dates in a question ("last week", "yesterday", "in March", "since Monday", "minggu lalu",
"kemarin", "bulan Maret", "sejak Senin") as a range of publication dates.

dateparser finds and reads the phrase (English and Indonesian, relative to a base day); the range
is the period the phrase names: its day, its week (Monday to Sunday), its month, or from it until
the base day after "since" / "sejak". A phrase with a year ("in 2024", "6 September 2005",
"Nomor 12 Tahun 2005") is left alone: it names an event's time or a number, not when the articles
were published, and the answerability judgment already reads years. A phrase is taken only if
it holds a word of time: dateparser also reads "may" or "sat" as dates.
"""
from __future__ import annotations

import re
import time
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = ("january february march april june july august september october november december "
          "januari februari maret mei juni juli agustus oktober desember").split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday senin selasa rabu kamis jumat sabtu".split()
RELATIVE = ("yesterday today tonight week weekend month year ago last past recently "
            "kemarin hari ini minggu pekan bulan tahun lalu terakhir kemarin").split()
WEEK_WORDS, MONTH_WORDS = {"week", "weekend", "minggu", "pekan"}, {"month", "bulan", *MONTHS, "may"}
SINCE = {"since", "sejak", "after", "setelah", "semenjak"}
_VOCABULARY = set(MONTHS) | set(DAYS) | set(RELATIVE) | {"may", "days", "weeks", "months", "years", "hari", "ini"}
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    phrase: str

    def to_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "phrase": self.phrase}


def _is_time(phrase: str) -> bool:
    words = set(_WORD.findall(phrase.lower()))
    if words & (set(MONTHS) | set(DAYS) | set(RELATIVE)):
        return True
    return "may" in words and len(words) > 1  # "in May", not the verb


def find_range(question: str, lang: str, base: date) -> DateRange | None:
    """The date range a question asks about, relative to `base` (today, or an archive's newest day)."""
    from dateparser.search import search_dates

    languages = [lang] if lang in ("en", "id") else ["en", "id"]
    when = datetime(base.year, base.month, base.day, 12)
    found = search_dates(question, languages=languages,
                         settings={"RELATIVE_BASE": when, "PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False})
    for phrase, moment in found or []:
        if re.search(r"\d{4}", phrase) or not _is_time(phrase):
            continue  # a year (or a full date) names an event's time, not when articles were published
        day = min(moment.date(), base)
        words = set(_WORD.findall(phrase.lower()))
        if words & WEEK_WORDS:
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=6)
        elif words & MONTH_WORDS:
            start = day.replace(day=1)
            end = day.replace(day=monthrange(day.year, day.month)[1])
        else:
            start = end = day
        before = question.lower()[: question.lower().find(phrase.lower())].split()[-2:]
        if SINCE & set(before) or SINCE & words:
            end = base
        return DateRange(start, min(end, base), _trimmed(phrase))
    return None


def _trimmed(phrase: str) -> str:
    """The words of time in a matched phrase ("yesterday about" -> "yesterday"; "in March" stays)."""
    tokens = phrase.split()
    timely = [i for i, t in enumerate(tokens) if t.lower().strip(",.?!") in _VOCABULARY or t.strip(",.?!").isdigit()]
    if not timely:
        return phrase.strip()
    first, last = timely[0], timely[-1]
    if first > 0 and tokens[first - 1].lower() in {"in", "on", "since", "sejak", "bulan", "pada", "last", "this"}:
        first -= 1
    return " ".join(tokens[first:last + 1]).strip(",.?!")


def timed_find_range(question: str, lang: str, base: date) -> tuple[DateRange | None, float]:
    """find_range and its cost in milliseconds (for the answer's timings)."""
    t = time.perf_counter()
    found = find_range(question, lang, base)
    return found, (time.perf_counter() - t) * 1000
