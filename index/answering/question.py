"""What a question asks, read once for everything that answers it: the kind of thing it asks for
(`expected_type`, and whether a sentence `holds_type` of it), its weighted stems, the names it asks
about, whether it is a question at all or a statement to find the source of, and whether it asks
for the latest news. The judgment (`answerability`), the sentence choice (`answer`), the reader's
window choice (`reading`) and retrieval's query mode (`asking`) all read it from here."""
from __future__ import annotations

import re

from newsbot.index.text.words import stem_weights, stopwords, words, years

_NUMBER_Q = re.compile(r"\b(how (many|much|old|long|far|big|large|tall|high|often)|what "
                       r"(number|percentage|share|amount|age)|"
                       r"berapa|berapakah)\b", re.I)
_MONEY_Q = re.compile(r"\b(how much\b.*\b(cost|costs|price|pay|paid|spend|spent|worth|fund|budget|raise|invest)|"
                      r"what (is|was|will be) the (cost|price|budget)|berapa (biaya|harga|anggaran|dana|nilai)|"
                      r"(biaya|harga|anggaran|dana|nilai)\w* berapa)", re.I)
_MONEY = re.compile(r"(\$|€|£|¥|\bRp\.?\s?|\b(dollars?|euros?|pounds?|yen|yuan|rupiah|rupees?|usd|eur|idr)\b)", re.I)
_WHEN_Q = re.compile(r"\b(when|what (year|date|day|month|time)|kapan|kapankah|tanggal berapa|tahun berapa|pada "
                     r"tahun)\b", re.I)
_WHO_Q = re.compile(r"\b(who|whom|whose|siapa|siapakah)\b", re.I)
_AUXILIARIES = "did|does|do|is|was|are|were|will|would|has|have|had|can|could|should"  # "what did ...": not a name
_WHICH_Q = re.compile(rf"^\W*(which\b|what (?!{_AUXILIARIES}|happened)\w+|(apa|siapa) nama\b)", re.I)
# "What is the name of ...", and a quiz's "... this week. What is the show called?": a name, wherever the question
# puts it (not "the so-called deal", which asks what it is).
_NAMED_Q = re.compile(r"\bwhat(?:'s|\s+is|\s+was|\s+are|\s+were|\s+will\s+be)\s+(?:(?:the|its|their)\s+names?\b|"
                      r"[^.?!]{0,40}?(?<![\w-])(?:called|named)\b)", re.I)
# A quiz puts "which" after its context: "The Celtics beat which team in the NBA Finals?". Not the relative
# "which" of "the rocket, which exploded" (after a comma) or "which was found" (a verb follows).
_WHICH_INSIDE_Q = re.compile(rf"(?<![,;])\s+which\s+(?!(?:{_AUXILIARIES}|may|might|must|also|then|now)\b)[^\W\d_]",
                             re.I)
_WHERE_Q = re.compile(r"\b(where|di ?mana|dimanakah|ke ?mana|dari mana)\b", re.I)
_MONTHS = ("january february march april may june july august september october november december "
           "januari februari maret april mei juni juli agustus september oktober november desember "
           "monday tuesday wednesday thursday friday saturday sunday senin selasa rabu kamis jumat sabtu minggu "
           "yesterday today kemarin")
_DATE_WORDS = frozenset(_MONTHS.split())


def expected_type(question: str) -> str:
    """What kind of thing the question asks for: money, number, date, person, place, name ("which show",
    "what company": a name the question does not give), or "" (anything).
    The question word that comes first decides ("How old was she when ..." asks for a number)."""
    found = [(m.start(), kind) for kind, pattern in (("money", _MONEY_Q), ("number", _NUMBER_Q), ("date", _WHEN_Q),
                                                     ("person", _WHO_Q), ("place", _WHERE_Q), ("name", _WHICH_Q),
                                                     ("name", _NAMED_Q), ("name", _WHICH_INSIDE_Q))
             if (m := pattern.search(question))]
    return min(found)[1] if found else ""


def holds_type(kind: str, text: str, question: str) -> bool:
    """Whether `text` holds something of the asked kind that the question does not already contain."""
    if not kind:
        return True
    if kind == "money":
        return bool(_MONEY.search(text)) and holds_type("number", text, question)
    if kind == "number":  # a quantity: a number that is not a year and not one the question already gives
        given = set(re.findall(r"\d+", question))
        found = [n for n in re.findall(r"\d+(?:[.,]\d+)*", text) if n not in given and n not in years(n)]
        return bool(found) or any(w in _NUMBER_WORDS for w in words(text) if w not in words(question))
    if kind == "date":
        return bool(years(text)) or any(w in _DATE_WORDS for w in words(text)) or bool(re.search(r"\d", text))
    asked = {n.lower() for n in key_names(question)}
    return any(n.lower() not in asked for n in key_names(text))


_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve hundred thousand million "
                          "billion "
                          "dozen half satu dua tiga empat lima enam tujuh delapan sembilan sepuluh puluh ratus ribu "
                          "juta miliar triliun setengah".split())


_NAME = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_SENTENCE_START = re.compile(r"(^|[.!?:;\"“(]\s*)$")


def key_names(text: str) -> list[str]:
    """The names a question asks about: capitalised words that do not start a sentence ("Pope",
    "Tokyo"), mixed-case words ("iPhone") and acronyms ("NATO"). Stop words ("The") are not names,
    and in a headline, where most words are capitalised, only acronyms and mixed case count."""
    stop = stopwords()
    names: dict[str, None] = {}
    found = [m for m in _NAME.finditer(text)]
    headline = sum(m.group()[0].isupper() for m in found) > len(found) / 2  # "Jakarta Wage Council Stipulates UMP"
    for m in found:
        word = re.sub(r"['’]s$", "", m.group()).rstrip("'’-")
        lower = word.lower()
        if len(word) < 2 or lower in stop or not any(c.isupper() for c in word):
            continue
        if word[0].isupper() and word[1:].islower() and (headline or _SENTENCE_START.search(text[: m.start()])):
            continue  # "Who ...", "Siapa ...": capitalised because it starts the sentence (or a headline)
        names[word] = None
    return list(names)


_INTERROGATIVE_EN = frozenset("what which who whom whose when where why how".split())
_INTERROGATIVE_ID = frozenset(
    "apa apakah siapa siapakah kapan kapankah dimana dimanakah mengapa kenapa bagaimana bagaimanakah "
    "berapa berapakah manakah".split()
)
_PREP_WH = re.compile(r"\b(in|on|at|to|for|by|from|with|about|into|than)\s+(which|what|whom|whose)\b")


def looks_like_question(text: str) -> bool:
    """Is this a question (asymmetric search) rather than a statement to find the source of?

    E5 embeds questions with "query: " and passages with "passage: "; a statement
    (a quoted sentence, a claim) matches its source best embedded as a passage too
    (symmetric), e.g. an English sentence against its Indonesian translation.
    """
    t = text.strip().strip("\"“”'‘’").lower()
    if t.endswith(("?", "？", "؟")):
        return True
    found = words(t)
    if not found:
        return False
    if found[0] in _INTERROGATIVE_EN | _INTERROGATIVE_ID or found[-1] in _INTERROGATIVE_ID | {"mana"}:
        return True
    if any(w in _INTERROGATIVE_ID - {"apa"} for w in found):
        return True
    return bool(_PREP_WH.search(t))


def question_stems(question: str) -> dict[str, float]:
    """Stem -> weight; longer and capitalised words (names, places) and numbers weigh more."""
    caps = frozenset(w.strip("\"'“”‘’?.,!:;()").lower() for w in question.split()[1:] if w[:1].isupper())
    return stem_weights(question, caps, numbers=True)


# Words that ask for the newest news. Not "now" or "saat ini": in rtqa-dev they qualify the fact asked
# ("falling now for 50 days"), and reordering on them lost one answer of 98.
_LATEST = re.compile(r"\b(latest|newest|most recent|terbaru|terkini|paling baru)\b", re.I)


def asks_for_latest(question: str) -> bool:
    return bool(_LATEST.search(question))
