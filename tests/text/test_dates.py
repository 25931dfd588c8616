"""Time in questions and answers: English and Indonesian date phrases as ranges (a fixed "now"),
used to filter retrieval and shown in the answer; "as of" when dates differ or the latest is asked."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

import newsbot.index.text.dates as dates
from conftest import SHARED_DATA, needs_shared, run_cli
from newsbot.index.text.dates import find_range
from newsbot.index.sources.draft import Draft

NOW = date(2026, 11, 29)  # a Sunday


@pytest.mark.parametrize("question, lang, start, end", [
    ("What did Zelenskyy say last week?", "en", "2026-11-16", "2026-11-22"),
    ("What happened yesterday in Jakarta?", "en", "2026-11-28", "2026-11-28"),
    ("What was announced in March?", "en", "2026-03-01", "2026-03-31"),
    ("What has changed since Monday?", "en", "2026-11-23", "2026-11-29"),
    ("What did the minister say 3 days ago?", "en", "2026-11-26", "2026-11-26"),
    ("Apa kata Prabowo kemarin?", "id", "2026-11-28", "2026-11-28"),
    ("Apa kata menteri minggu lalu?", "id", "2026-11-16", "2026-11-22"),
    ("Apa yang diumumkan bulan Maret?", "id", "2026-03-01", "2026-03-31"),
    ("Apa yang berubah sejak Senin?", "id", "2026-11-23", "2026-11-29"),
    ("Which deal was signed this week?", "en", "2026-11-23", "2026-11-29"),  # the seven days to today
    # "after" read with the phrase ("this week after") follows the time: not "since today"
    ("Which drink was recalled this week after thousands of cans were mislabeled?", "en", "2026-11-23", "2026-11-29"),
    ("Apa kata menteri pekan lalu?", "id", "2026-11-16", "2026-11-22"),
    ("What changed over the last two weeks?", "en", "2026-11-15", "2026-11-29"),
    ("Apa yang berubah dalam seminggu terakhir?", "id", "2026-11-22", "2026-11-29"),
    ("What did the bank decide last month?", "en", "2026-10-01", "2026-10-31"),
    ("Berapa inflasi bulan ini?", "id", "2026-11-01", "2026-11-29"),
    ("Which star retired on Tuesday?", "en", "2026-11-24", "2026-11-24"),
    # asked on a Sunday: news writes today's events "on Sunday" too, so today or the Sunday before
    ("Which plane crashed on Sunday?", "en", "2026-11-22", "2026-11-29"),
    ("Which plane crashed last Sunday?", "en", "2026-11-22", "2026-11-22"),
    ("What did the court decide on May 11?", "en", "2026-05-11", "2026-05-11"),  # a day of May, not all of it
    ("Which actress died this week at 82?", "en", "2026-11-23", "2026-11-29"),  # an age, not "82 weeks"
    ("Who is celebrating Lunar New Year this week?", "en", "2026-11-23", "2026-11-29"),
    # Sunday is "Minggu", as the week is ("minggu lalu" stays last week, above)
    ("Apa yang terjadi pada hari Minggu?", "id", "2026-11-22", "2026-11-29"),
    ("Siapa pemenang pada Minggu (22/11)?", "id", "2026-11-22", "2026-11-22"),
    ("Apa kata presiden selama dua minggu terakhir?", "id", "2026-11-15", "2026-11-29"),
    ("Apa kata presiden dalam 3 hari terakhir?", "id", "2026-11-26", "2026-11-29"),  # not "in 3 days"
    ("What happened on November 20?", "en", "2026-11-20", "2026-11-20"),
    ("Apa yang terjadi pada 20 November?", "id", "2026-11-20", "2026-11-20"),
    ("What did the mayor say last night?", "en", "2026-11-28", "2026-11-28"),
    ("Apa kata wali kota tadi malam?", "id", "2026-11-28", "2026-11-28"),
    ("Apa kata menteri minggu kemarin?", "id", "2026-11-16", "2026-11-22"),
    ("What happened over the weekend?", "en", "2026-11-28", "2026-11-29"),  # asked on a Sunday: this one
    ("What happened last weekend?", "en", "2026-11-21", "2026-11-22"),
    ("Apa yang terjadi akhir pekan lalu?", "id", "2026-11-21", "2026-11-22"),
    ("Apa yang terjadi dua minggu lalu?", "id", "2026-11-09", "2026-11-15"),
    ("Apa kata menteri bulan kemarin?", "id", "2026-10-01", "2026-10-31"),
    ("Apa kata presiden pada Senin (23/11)?", "id", "2026-11-23", "2026-11-23"),  # a date is not a count
    ("What happened this past week?", "en", "2026-11-22", "2026-11-29"),
    ("What did the court rule in the past month?", "en", "2026-10-30", "2026-11-29"),
])
def test_date_phrases_in_english_and_indonesian_become_ranges(question, lang, start, end):
    found = find_range(question, lang, NOW)
    assert found is not None and (found.start.isoformat(), found.end.isoformat()) == (start, end), found


@pytest.mark.parametrize("question, lang", [
    ("What may happen to the 20 buses on the new line?", "en"),  # "may" is a verb here
    ("Siapa pemenang Piala Dunia 2022?", "id"),  # a bare year: the answerability judgment reads it
    ("What did Zelenskyy say about the minerals deal?", "en"),
    ("After agreeing to a two-year contract extension, which player stays?", "en"),  # a unit word as an adjective
    ("Rents hit a record high for the 17th month in a row. Which city led?", "en"),  # a count, not a time
    ("Which singer will launch a residency later this year?", "en"),  # years name an event's time
    ("In which month of this year will the emergency end?", "en"),  # a month asked for, of the year
    ("What is the name the president uses for 10 December?", "en"),  # a coming day, not a past one
    ("Which two teams are set to face off in the final in December?", "en"),  # a month, coming
    ("Which drink was discontinued after only six months on the shelves?", "en"),  # how long, not when
    ("Who was freed after nearly 10 months in prison?", "en"),
    ("Siapa yang dipenjara selama enam bulan?", "id"),
    ("What will the council vote on next week?", "en"),  # a future is not when articles were published
    ("Which concerts are on this weekend?", "en"),  # asked on a weekday (below), the coming weekend
])
def test_questions_without_a_time_have_no_range(question, lang):
    assert find_range(question, lang, NOW - timedelta(days=3)) is None  # a Thursday


def test_a_question_without_a_word_of_time_is_not_read_by_dateparser(monkeypatch):
    import dateparser.search

    def unwanted(*args, **kwargs):
        raise AssertionError("dateparser read a question that holds no word of time")

    monkeypatch.setattr(dateparser.search, "search_dates", unwanted)
    assert find_range("What did Zelenskyy say about the minerals deal?", "en", NOW) is None
    assert find_range("Siapa pemenang Piala Dunia 2022?", "id", NOW) is None
    with pytest.raises(AssertionError):
        find_range("What did the mayor say last night?", "en", NOW)  # "night": read as before


@needs_shared
def test_skipping_dateparser_changes_no_range_on_the_dev_sets_questions(monkeypatch):
    questions = [(r["question"], r.get("lang", "en")) for name in ("facqa-dev", "rtqa-dev", "idmt-dev")
                 for r in map(json.loads, (SHARED_DATA / name / "questions.jsonl").open(encoding="utf-8"))]
    skipped = [q for q in questions[::4] if not any(a in dates._in_known_words(q[0])[0].lower() for a in dates._ANCHORS)]
    monkeypatch.setattr(dates, "_ANCHORS", ("",))  # every question goes to dateparser again
    assert len(skipped) > 200
    assert [q for q in skipped if find_range(*q, NOW) is not None] == []


def days_ago(n: int) -> str:
    return (datetime.now(timezone.utc).date() - timedelta(days=n)).isoformat()


def minister(day: str, pumps: int, article_id: str) -> Draft:
    return Draft(id=article_id, title=f"Water minister on flood pumps ({pumps})", published_at=day, source="Kota Desk",
                 text=f"The water minister said the city would install {pumps} new flood pumps in the northern districts "
                      f"before the rainy season, after floods closed the coastal toll road.")


@pytest.fixture
def dated(engine):
    engine.add([minister(days_ago(1), 6, "m-yesterday"), minister(days_ago(12), 4, "m-earlier"),
                minister(days_ago(45), 2, "m-old"),
                Draft(id="m-undated", title="Water minister on flood pumps (undated)",
                      text="The water minister said the city would install 9 new flood pumps in the northern districts "
                           "before the rainy season, after floods closed the coastal toll road.")])
    return engine


def test_a_question_about_yesterday_is_answered_from_yesterdays_article_and_says_so(dated):
    answer = dated.ask("What did the water minister say yesterday about flood pumps?")
    assert answer.date_range == {"from": days_ago(1), "to": days_ago(1), "phrase": "yesterday",
                                 "searched_from": days_ago(2), "searched_to": days_ago(0)}
    assert {p.article_id for p in answer.passages} == {"m-yesterday"}, "other days and the undated article left out"
    assert "dates_ms" in answer.timings_ms


def test_no_article_in_the_range_is_an_abstention_that_names_the_range(dated, settings):
    answer = dated.ask("What did the water minister say in March about flood pumps?")
    assert answer.abstained and answer.passages == [] and answer.date_range["from"].endswith("-03-01")
    dated.close()
    text = run_cli(["ask", "What did the water minister say in March about flood pumps?"], settings).stdout.decode()
    assert text.startswith("The indexed articles don't cover this question. No indexed article is from 1 – 31 Mar ")
    assert "\nArticles from 1 – 31 Mar " in text
    indonesian = run_cli(["ask", "Apa kata menteri bulan Maret soal pompa banjir?", "--lang", "id"], settings)
    said = " ".join(indonesian.stdout.decode().split())  # the terminal text is wrapped
    assert "Belum ada artikel terindeks dari 1–31 Mar 20" in said and "Artikel dari 1–31 Mar 20" in said


def test_when_nothing_in_the_range_answers_the_closest_passage_from_outside_it_is_shown_dated(dated, settings):
    question = "What did the water minister say in March about flood pumps?"
    answer = dated.ask(question)
    assert answer.abstained and answer.citations == [], "never the answer: March's news is not October's"
    assert answer.closest is not None and answer.closest.article_id in {"m-yesterday", "m-earlier", "m-old"}
    assert not answer.date_range["searched_from"] <= answer.closest.published_at <= answer.date_range["searched_to"]
    assert "flood pumps" in answer.closest.quote
    dated.close()
    text = run_cli(["ask", question], settings).stdout.decode()
    assert "\nClosest passage, from outside those dates (may not answer the question):\n" in text
    assert "Closest articles" not in text, "nothing from March to list"
    said = " ".join(run_cli(["ask", question, "--lang", "id"], settings).stdout.decode().split())  # framed in Indonesian
    assert "Kutipan terdekat, dari luar tanggal itu (belum tentu menjawab):" in said


def test_the_latest_is_the_newest_dated_article_and_the_answer_says_as_of(dated, settings):
    answer = dated.ask("What is the latest the water minister said about flood pumps?")
    assert answer.citations and answer.citations[0].article_id == "m-yesterday"
    assert answer.as_of == days_ago(1)
    dated.close()
    text = run_cli(["ask", "What is the latest the water minister said about flood pumps?", "--lang", "id"],
                   settings).stdout.decode()
    assert "Per " in text


def test_in_an_archive_a_relative_date_is_not_applied_and_the_answer_says_so(engine, settings):
    """An archive (no article in the last 60 days) does not know when "last week" was asked."""
    engine.add([minister("2022-06-14", 5, "a-newest"), minister("2022-06-02", 3, "a-before"),
                minister("2022-05-01", 1, "a-old")])
    answer = engine.ask("What did the water minister say last week about flood pumps?")
    assert answer.date_range is None and {p.article_id for p in answer.passages} >= {"a-newest", "a-before"}
    assert answer.notices == [{"code": "dates_not_applied", "detail": "last week"}], "the reader is told why"
    engine.close()
    said = " ".join(run_cli(["ask", "Apa kata menteri minggu lalu soal pompa banjir?", "--lang", "id"],
                            settings).stdout.decode().split())
    assert "“minggu lalu” tidak dipakai sebagai tanggal" in said


def test_a_year_or_a_full_date_names_an_event_not_the_publication():
    assert find_range("Berapa korban diare hingga Jumat 12 Agustus 2005?", "id", NOW) is None
    assert find_range("Mengatur tentang apakah Peraturan Menteri Nomor 12 Tahun 2005?", "id", NOW) is None


def test_the_filter_keeps_a_day_either_side_of_the_range():
    """An article's date is its outlet's local day, and yesterday's story is often published today."""
    found = find_range("What happened yesterday in Jakarta?", "en", NOW)
    assert found.bounds() == (date(2026, 11, 27), date(2026, 11, 29))


def test_the_date_phrase_is_not_counted_as_what_the_question_asks_about():
    found = find_range("What tariffs did Trump announce since Monday?", "en", NOW)
    assert found.removed_from("What tariffs did Trump announce since Monday?") == "What tariffs did Trump announce?"
    found = find_range("Apa kata menteri pekan lalu soal pompa?", "id", NOW)
    assert found.removed_from("Apa kata menteri pekan lalu soal pompa?") == "Apa kata menteri soal pompa?"
    found = find_range("Apa kata wali kota tadi malam soal banjir?", "id", NOW)
    assert found.phrase == "tadi malam", "the phrase in the question's own words, as the answer quotes it"
    assert found.removed_from("Apa kata wali kota tadi malam soal banjir?") == "Apa kata wali kota soal banjir?"
    found = find_range("What changed over the last two weeks at the port?", "en", NOW)
    assert found.removed_from("What changed over the last two weeks at the port?") == "What changed at the port?"


def test_a_question_asked_on_a_day_is_answered_from_that_days_articles_in_an_archive(engine, settings):
    """The day a question is asked on (`newsbot ask --as-of`, the eval's `asked_on`) makes the range
    apply in an archive too, and a weekday's name is not a name the articles must contain."""
    engine.add([minister("2022-06-14", 5, "a-tuesday"), minister("2022-06-02", 3, "a-before"),
                minister("2022-05-01", 1, "a-old")])
    question = "What did the water minister say on Tuesday about flood pumps?"
    answer = engine.ask(question, today=date(2022, 6, 17))
    assert (answer.date_range["from"], answer.date_range["to"], answer.date_range["phrase"]) == (
        "2022-06-14", "2022-06-14", "on Tuesday")
    assert not answer.abstained and {c.article_id for c in answer.citations} == {"a-tuesday"}
    engine.close()
    shown = run_cli(["ask", question, "--as-of", "2022-06-17", "--json"], settings)
    assert json.loads(shown.stdout)["date_range"]["from"] == "2022-06-14"
    bad = run_cli(["ask", question, "--as-of", "June"], settings)
    assert bad.returncode != 0 and b"not a date: 'June'" in bad.stderr


def test_an_answer_from_a_day_beside_the_one_asked_says_which_days_were_searched(engine):
    """Yesterday's story published today is found, and the answer does not claim it is from yesterday."""
    from newsbot.index.i18n.catalogue import Messages
    from newsbot.index.i18n.wording import dating

    engine.add([minister("2022-06-14", 5, "a-tuesday"), minister("2022-05-01", 1, "a-old")])
    question = "What did the water minister say yesterday about flood pumps?"
    on_the_day = engine.ask(question, today=date(2022, 6, 15))
    assert dating(on_the_day, Messages("en"))[0] == "Articles from 14 June 2022"
    a_day_later = engine.ask(question, today=date(2022, 6, 16))  # yesterday is the 15th; the story is dated the 14th
    assert [c.article_id for c in a_day_later.citations][:1] == ["a-tuesday"]
    assert dating(a_day_later, Messages("en"))[0] == "Articles from 14 – 16 Jun 2022"
