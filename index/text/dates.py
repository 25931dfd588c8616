"""Dates in a question ("last week", "yesterday", "in March", "since Monday", "minggu lalu",
"kemarin", "bulan Maret", "sejak Senin") as a range of publication dates.

dateparser finds and reads the phrase (English and Indonesian, relative to a base day); the range
is the period the phrase names:

- "yesterday", "today", "3 days ago", "kemarin", "on Tuesday", "on November 20": that day ("on
  Thursday" asked on a Thursday: from the Thursday before to today);
- "last weekend", "over the weekend", "akhir pekan lalu": that Saturday and Sunday;
- "last week", "2 weeks ago", "minggu lalu": that calendar week (Monday to Sunday);
- "this week", "minggu ini": the seven days up to the base day (news "this week" on a Monday is
  still last week's news); "the last two weeks", "seminggu terakhir": from then to the base day;
- "in March", "last month", "bulan Maret": that month ("this month": its first day to the base day);
- after "since" / "sejak": from the phrase's day to the base day.

Left alone, because they name when something happens rather than when articles were published: a
phrase with a year ("in 2024", "6 September 2005", "Nomor 12 Tahun 2005") or of years ("earlier
this year", "last year", "which month of this year"), a day and month coming within two months ("2 April"
asked on 28 March) or a month in a question in the future tense ("set to face off in February"), a
future ("later this month", "next week"), a length of time without "last", "past" or "ago" ("after
six months on the shelves"), and a unit word used as an adjective or a count ("a two-year contract",
"the 17th month in a row"). A phrase is taken only if it holds a word of time: dateparser also reads
"may" or "sat" as dates.

The filter built from a range is a day wider on each side (`DateRange.bounds`): an article's date
is its outlet's local day, and yesterday's story is often published today.
"""
from __future__ import annotations

import re
import time
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = ("january february march april june july august september october november december "
          "januari februari maret mei juni juli agustus oktober desember").split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday senin selasa rabu kamis jumat sabtu ahad".split()
DAY_WORDS = {"yesterday", "today", "tonight", "morning", "night", "kemarin", "day", "days", "hari", "sehari"}
WEEK_WORDS = {"week", "weeks", "weekend", "minggu", "pekan", "seminggu", "sepekan"}
MONTH_WORDS = {"month", "months", "bulan", "sebulan"}
YEAR_WORDS = {"year", "years", "tahun", "setahun"}
QUALIFIERS = {"this", "last", "past", "ago", "ini", "lalu", "terakhir", "yang", "previous", "kemarin"}
COUNTS = {"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "few", "several", "couple",
          "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "beberapa",
          "seminggu", "sepekan", "sebulan", "sehari"}
AGO = {"ago", "lalu"}
FUTURE = {"next", "later", "coming", "depan", "mendatang", "nanti"}
SINCE = {"since", "sejak", "after", "setelah", "semenjak"}
FUTURE_TENSE = re.compile(r"\b(?:will|set to|scheduled|expected|upcoming|beginning|starting|akan|dijadwalkan)\b")
SLACK = timedelta(days=1)
# Phrases dateparser does not know, as ones it does (the answer still quotes the question's words).
_NUMBERS = {"dua": "2", "tiga": "3", "empat": "4", "lima": "5", "enam": "6", "tujuh": "7", "delapan": "8",
            "sembilan": "9", "sepuluh": "10"}
SAYINGS = (
    (r"\bpekan\b", lambda m: "minggu"),
    (r"\b(minggu|bulan) kemarin\b", lambda m: f"{m[1]} lalu"),
    (r"\b(?:tadi malam|semalam)\b", lambda m: "kemarin"),
    (r"\b(dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh) (hari|minggu|bulan)(?: yang)? lalu\b",
     lambda m: f"{_NUMBERS[m[1].lower()]} {m[2]} yang lalu"),
    (r"\b(\d+) (hari|minggu|bulan) lalu\b", lambda m: f"{m[1]} {m[2]} yang lalu"),
    (r"\b(?:this|the) past week\b", lambda m: "the last 7 days"),
    (r"\b(?:this|the) past month\b", lambda m: "the last 30 days"),
    # "dua minggu terakhir" (the last two weeks): dateparser reads the count only in digits
    (r"\b(?:dalam )?(dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh) (hari|minggu|bulan) terakhir\b",
     lambda m: f"{_NUMBERS[m[1].lower()]} {m[2]} terakhir"),
    (r"\bdalam (\d+) (hari|minggu|bulan) terakhir\b", lambda m: f"{m[1]} {m[2]} terakhir"),  # not "in 3 days"
    # Sunday is "Minggu", as the week is: "hari Minggu", or a capitalised Minggu without a week's qualifier
    (r"\bhari minggu\b", lambda m: "hari Ahad"),
    (r"(?-i:\bMinggu\b)(?!\s+(?:lalu|ini|depan|kemarin|terakhir|pertama|kedua|ketiga|keempat|yang|mendatang))",
     lambda m: "Ahad"),
)
WEEKEND = re.compile(r"\b(?:(last|this|past|over the) weekend|akhir (?:pekan|minggu)(?: (lalu|ini|kemarin))?)\b", re.I)
_VOCABULARY = (set(MONTHS) | set(DAYS) | DAY_WORDS | WEEK_WORDS | MONTH_WORDS | YEAR_WORDS
               | QUALIFIERS | COUNTS | {"may", "ini"})
_WORD = re.compile(r"[a-z]+|\d+")
# A phrase is taken only if it holds one of these (`_is_time`); a question without any of them, even
# inside a longer word, has no phrase to take, and dateparser (0.2 s to import, ~0.4 s to first read a
# question) is not asked.
_ANCHORS = tuple(sorted(set(MONTHS) | set(DAYS) | DAY_WORDS | WEEK_WORDS | MONTH_WORDS | {"may"}))


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    phrase: str

    def to_dict(self) -> dict:
        start, end = self.bounds()
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "phrase": self.phrase,
                "searched_from": start.isoformat(), "searched_to": end.isoformat()}

    def removed_from(self, question: str) -> str:
        """The question without its date phrase (and the "since" / "in" before it): what is asked
        about, for judging whether passages answer it once the dates are a filter."""
        words = [re.escape(w) for w in self.phrase.split()]
        before = r"(?:\b(?:since|sejak|semenjak|after|setelah|in|on|pada|bulan|over|during|dalam)\s+)?"
        after = r"(?:\s+terakhir\b)?"  # "seminggu terakhir"
        pattern = before + r"(?:\bthe\s+)?(?:\b(?:last|past)\s+)?" + r"\s+".join(words) + after
        left = " ".join(re.sub(pattern, " ", question, count=1, flags=re.IGNORECASE).split())
        return re.sub(r"\s+([?.!,])", r"\1", left)

    def bounds(self) -> tuple[date, date]:
        """The publication dates a filter keeps: the range and a day either side."""
        return self.start - SLACK, self.end + SLACK


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _is_time(phrase: str, words: set[str]) -> bool:
    """A phrase that names a time: a day or month by name, or a unit word qualified as a time."""
    if "-" in phrase or words & FUTURE:
        return False  # "a two-year contract", "next week"
    if words & (set(MONTHS) | set(DAYS) | {"yesterday", "today", "tonight", "kemarin"}):
        return True
    if "may" in words:
        return len(words) > 1 and not words & {"i", "it", "we", "they", "he", "she", "you"}  # "in May", not the verb
    units = words & (DAY_WORDS | WEEK_WORDS | MONTH_WORDS)
    return bool(units) and bool(words & (QUALIFIERS | COUNTS) or any(w.isdigit() for w in words))


def _counted(phrase: str) -> bool:
    """A count of a unit of time: "3 days", "two weeks", "seminggu"; not "Senin (23/11)" nor "this week
    at 82", whose number is a date or an age."""
    tokens = _WORD.findall(phrase.lower())
    units = DAY_WORDS | WEEK_WORDS | MONTH_WORDS
    return any(t in units and (t in COUNTS or i > 0 and (tokens[i - 1] in COUNTS or tokens[i - 1].isdigit()))
               for i, t in enumerate(tokens))


def _period(day: date, base: date, words: set[str], counted: bool) -> tuple[date, date]:
    """The period a phrase names, given the day dateparser read it as."""
    if words & (set(MONTHS) | {"may"}) and any(w.isdigit() and int(w) <= 31 for w in words):
        return day, day  # "on November 20", "20 November", "on May 11"
    rolling = counted and not words & AGO or bool(words & {"past", "terakhir"})  # "the last two weeks"
    if rolling:
        return day, base
    if words & WEEK_WORDS and not words & set(DAYS):
        if day == base:  # "this week": the seven days to the base day
            return base - timedelta(days=6), base
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if words & (MONTH_WORDS | set(MONTHS) | {"may"}):
        start = day.replace(day=1)
        if day.year == base.year and day.month == base.month and not words & set(MONTHS):
            return start, base  # "this month"
        return start, day.replace(day=monthrange(day.year, day.month)[1])
    return day, day


def find_range(question: str, lang: str, base: date) -> DateRange | None:
    """The date range a question asks about, relative to `base` (the day it is asked on)."""
    languages = [lang] if lang in ("en", "id") else ["en", "id"]
    when = datetime(base.year, base.month, base.day, 12)
    weekend = _weekend(question, base)
    if weekend is not None:
        return weekend
    text, origin = _in_known_words(question)
    if not any(anchor in text.lower() for anchor in _ANCHORS):
        return None
    from dateparser.search import search_dates

    found = search_dates(text, languages=languages,
                         settings={"RELATIVE_BASE": when, "PREFER_DATES_FROM": "past",
                                   "RETURN_AS_TIMEZONE_AWARE": False})
    lowered = text.lower()
    for phrase, moment in found or []:
        words = _words(phrase)
        at = lowered.find(phrase.lower())
        around = _words(lowered[max(0, at - 12): at] + " " + lowered[at + len(phrase): at + len(phrase) + 12])
        if re.search(r"\d{4}", phrase) or not _is_time(phrase,
                                                       words) or lowered[at + len(phrase): at + len(phrase) + 1] == "-":
            continue  # a year (or a full date) names an event's time, not when articles were published
        if words & YEAR_WORDS and not words & (set(MONTHS) | set(DAYS) | WEEK_WORDS):  # "New Year this week": kept
            continue  # "earlier this year", "in which month of this year": an event's time
        if moment.date() > base or around & FUTURE:
            continue  # "later this month", "the 17th month in a row" read as a future date
        if _upcoming(phrase, words, moment.date(), base, lowered):
            continue  # "2 April" asked on 28 March, "will ... in November": the coming time something is set for
        counted = _counted(phrase)
        if counted and not (words | around) & (AGO | {"last", "past", "terakhir"}):
            continue  # "after six months on the shelves", "hospitalised for two weeks": how long, not when
        words |= around & {"past", "terakhir"}
        start, end = _period(moment.date(), base, words, counted)
        if _todays_weekday(words, moment.date(), base):
            start, end = base - timedelta(days=7), base  # news writes today's events "on Thursday" too
        before = lowered[:at].split()[-2:]
        if SINCE & set(before) or SINCE & _leading(phrase):
            start, end = moment.date(), base
        trimmed = _trimmed(phrase)
        first = lowered.find(trimmed.lower(), at) if trimmed.lower() in phrase.lower() else at
        last = first + len(trimmed) - 1 if first >= 0 else at + len(phrase) - 1
        said = question[origin[max(first, 0)][0]: origin[last][1]]  # as the question said it
        return DateRange(start, min(end, base), said or trimmed)
    return None


def _todays_weekday(words: set[str], day: date, base: date) -> bool:
    """A bare day name ("on Thursday", not "last Thursday" nor "Senin (23/11)") read as today or a
    week ago, asked on that day of the week: either can be meant."""
    return (bool(words & set(DAYS)) and not words & (QUALIFIERS | set(MONTHS)) and not any(w.isdigit() for w in words)
            and day in (base, base - timedelta(days=7)))


def _upcoming(phrase: str, words: set[str], day: date, base: date, question: str, within: int = 62) -> bool:
    """A month named without a year, read as past, that the question means as coming: a day and month
    whose next occurrence is at most `within` days ahead ("2 April" asked on 28 March, "on November 15"
    asked on 4 October), or a month asked about in the future tense ("set to face off in February").
    It names when something is set to happen, not when the articles it asks about were published."""
    if not words & (set(MONTHS) | {"may"}) or words & (DAY_WORDS | WEEK_WORDS | MONTH_WORDS | QUALIFIERS):
        return False
    if not re.search(r"\b\d{1,2}\b", phrase):
        return bool(FUTURE_TENSE.search(question))
    for year in (base.year, base.year + 1):
        try:
            coming = day.replace(year=year)
        except ValueError:  # 29 February
            continue
        if coming > base:
            return (coming - base).days <= within
    return False


def _in_known_words(question: str) -> tuple[str, list[tuple[int, int]]]:
    """The question with SAYINGS applied, and for each of its characters the span of the question's
    own characters it stands for (to quote and remove the phrase as the member wrote it)."""
    text, origin = question, [(i, i + 1) for i in range(len(question))]
    for pattern, known in SAYINGS:
        out, spans, pos = [], [], 0
        for m in re.finditer(pattern, text, flags=re.IGNORECASE):
            out.append(text[pos:m.start()])
            spans += origin[pos:m.start()]
            replacement = known(m)
            out.append(replacement)
            spans += [(origin[m.start()][0], origin[m.end() - 1][1])] * len(replacement)
            pos = m.end()
        out.append(text[pos:])
        spans += origin[pos:]
        text, origin = "".join(out), spans
    return text, origin


def _weekend(question: str, base: date) -> DateRange | None:
    """"last weekend", "over the weekend", "akhir pekan lalu": the Saturday and Sunday before the
    base day ("this weekend" on a Saturday or Sunday is that one)."""
    m = WEEKEND.search(question)
    if m is None:
        return None
    qualifier = (m.group(1) or m.group(2) or "").lower()
    if qualifier in ("this", "ini") and base.weekday() < 5:
        return None  # "this weekend" on a weekday is the coming one: not when articles were published
    saturday = base - timedelta(days=(base.weekday() - 5) % 7)
    if qualifier in ("last", "lalu", "kemarin") and base.weekday() >= 5:
        saturday -= timedelta(days=7)  # asked during a weekend, "last weekend" is the one before
    return DateRange(saturday, min(saturday + timedelta(days=1), base), m.group(0))


def _time_words(tokens: list[str]) -> list[int]:
    """The positions of the words of time among a phrase's tokens."""
    bare = [t.lower().strip(",.?!") for t in tokens]
    return [i for i, t in enumerate(bare) if t in _VOCABULARY or t.isdigit()]


def _leading(phrase: str) -> set[str]:
    """The words of a matched phrase before its first word of time: "since Monday" -> {"since"}. What
    dateparser swallows after it is not part of the time: "this week after thousands of cases ..." is
    this week, not since today."""
    tokens = phrase.split()
    timely = _time_words(tokens)
    return {t.lower().strip(",.?!") for t in (tokens[:timely[0]] if timely else tokens)}


def _trimmed(phrase: str) -> str:
    """The words of time in a matched phrase ("yesterday about" -> "yesterday"; "in March" stays)."""
    tokens = phrase.split()
    timely = _time_words(tokens)
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
