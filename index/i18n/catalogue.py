"""The words around an answer, in the reader's language: a message catalogue per language
(`index/i18n/locales/<lang>.po`, gettext's format, read with Babel) and dates in that language's form.

The engine decides (abstained, why, which names or years, notices as codes); the front ends word
it with `Messages(lang)`. Keys are symbolic (`answer.not_covered`); every key exists in every
language (tests/i18n/test_i18n.py). To add a language: copy en.po to <lang>.po, translate each msgstr,
and add the code to LANGUAGES.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources

from babel.dates import format_date
from babel.messages.pofile import read_po

LANGUAGES = ("en", "id")
DEFAULT = "en"


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    with resources.files("newsbot.index.i18n.locales").joinpath(f"{lang}.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f, locale=lang) if m.id and m.string}


def supported(code: str | None) -> str | None:
    """'id' for 'id', 'en' for 'en-US' or 'en-GB'; None for a language we have no words for."""
    if not code:
        return None
    lang = str(code).split("-")[0].split("_")[0].lower()
    return lang if lang in LANGUAGES else None


class Messages:
    """`Messages("id").t("answer.not_covered")`; a missing key falls back to English, then to the key."""

    def __init__(self, lang: str | None = None) -> None:
        self.lang = supported(lang) or DEFAULT
        self._words = catalogue(self.lang)

    def t(self, key: str, **values) -> str:
        text = self._words.get(key) or catalogue(DEFAULT).get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._words

    def date(self, iso: str) -> str:
        """'2025-02-22' -> '22 February 2025' / '22 Februari 2025'; other text as it is."""
        try:
            day = date.fromisoformat((iso or "")[:10])
        except ValueError:
            return iso or ""
        return format_date(day, "d MMMM y", locale=self.lang)

    def date_range(self, start: str, end: str) -> str:
        """'2026-11-16', '2026-11-22' -> '16 – 22 Nov 2026' / '16–22 Nov 2026'; one day as `date`."""
        if start[:10] == end[:10]:
            return self.date(start)
        from babel.dates import format_interval

        text = format_interval(date.fromisoformat(start[:10]), date.fromisoformat(end[:10]), "yMMMMd",
                               locale="en_GB" if self.lang == "en" else self.lang)
        return text.replace("\u2009", " ")  # CLDR's thin spaces: plain ones read the same everywhere

    def number(self, n: int) -> str:
        return f"{n:,}".replace(",", "." if self.lang == "id" else ",")
