"""What the engine decided, in the reader's words: the abstention (why, which names or years) and
the notices, from the records' data and the message catalogue. Shared by the CLI and the bot."""
from __future__ import annotations

from newsbot.index.i18n.catalogue import Messages
from newsbot.index.records import EMPTY, NAMES, NO_WORDS, YEAR, Answer


def abstention(answer: Answer, m: Messages) -> str:
    reason, names, years = answer.decision()
    text = m.t("answer.not_covered")
    if answer.date_range and not answer.passages:  # nothing retrieved from the dates asked about
        span = m.date_range(answer.date_range["from"], answer.date_range["to"])
        return f"{text} {m.t('answer.date_none', range=span)}"
    if reason == NO_WORDS:
        return m.t("answer.no_words")
    if reason == EMPTY:
        return f"{text} {m.t('answer.no_articles')}"
    if reason == NAMES and names:
        return f"{text} {m.t('answer.names', names=m.t('answer.or').join(names))}"
    if reason == YEAR and years:
        return f"{text} {m.t('answer.year', years=m.t('answer.or').join(years))}"
    return text


def answer_text(answer: Answer, m: Messages) -> str:
    """The answer as the reader sees it: its cited sentences (in the articles' words), or why not."""
    return abstention(answer, m) if answer.abstained else answer.answer


def notices(answer: Answer, m: Messages) -> list[str]:
    if not answer.notices:
        return list(answer.notes)
    return [m.t(f"note.{n['code']}", detail=n.get("detail", "")) for n in answer.notices]


def dating(answer: Answer, m: Messages) -> list[str]:
    """"Articles from 16–22 Nov 2026" when the question named a time; "As of 22 Nov 2026" when the
    cited articles' dates differ or the latest was asked for."""
    lines = []
    if answer.date_range:
        lines.append(m.t("answer.date_range", range=m.date_range(*shown_span(answer))))
    if answer.as_of and not answer.abstained:
        lines.append(m.t("answer.as_of", date=m.date(answer.as_of)))
    return lines


def shown_span(answer: Answer) -> tuple[str, str]:
    """The dates the answer says its articles are from: the period asked about, or the day wider
    window searched when an article it shows (cited, or closest) is from one of the extra days."""
    asked = answer.date_range or {}
    start, end = asked.get("from", ""), asked.get("to", "")
    shown = [c.published_at for c in (answer.citations or answer.passages)]
    if any(day and not start <= day[:10] <= end for day in shown) and asked.get("searched_from"):
        return asked["searched_from"], asked["searched_to"]
    return start, end


def closest_label(answer: Answer, m: Messages) -> str:
    """The heading of the closest passage beside an abstention: said to be from outside the asked
    dates when it is (the question's dates filtered the search and nothing in them answered)."""
    asked, c = answer.date_range, answer.closest
    outside = bool(asked and c is not None and c.published_at
                   and not asked.get("searched_from", "") <= c.published_at[:10] <= asked.get("searched_to", ""))
    return m.t("answer.closest_outside" if outside else "answer.closest_passage")
