"""The member's language: the catalogue is complete in English and Indonesian, the bot frames answers,
abstentions, refusals and limits in the member's (or the server's) language, commands are localized,
dates read naturally, the CLI takes --lang, and a generated answer follows the same choice."""
from __future__ import annotations

import re

import pytest

from conftest import ROOT, SAMPLES, answerable, make_settings, run_cli
from discord import app_commands

from newsbot.bot.cogs import admin, asking, feeds, library
from newsbot.index.answering.asking import NOTICES
from newsbot.index.i18n.catalogue import LANGUAGES, Messages, catalogue
from support.bot_harness import Harness, embed_of

PLACEHOLDER = re.compile(r"{(\w+)}")
UNANSWERABLE = "Who won the Nobel Prize in Chemistry in 2024?"


def used_keys() -> set[str]:
    """Every key the code asks for: literal keys, notice codes, language names and the commands' metadata."""
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("bot", "index") for p in (ROOT / folder).rglob("*.py"))
    keys = {k for k in re.findall(r'["\']((?:answer|bot|note|language|cmd)\.[a-z_.]+)["\']', source)
            if not k.endswith((".txt", ".json", ".po"))}  # file names such as answer.txt are not keys
    keys |= {f"note.{code}" for code in NOTICES}
    keys |= {f"language.{lang}" for lang in LANGUAGES}
    cogs = [asking.Asking(None), library.Library(None), admin.Admin(None), feeds.Feeds(None)]
    commands = [c for cog in cogs for c in ([cog.app_command] if cog.app_command else cog.get_app_commands())]
    while commands:
        command = commands.pop()
        name = command.qualified_name.replace(" ", ".")
        keys |= {f"cmd.{name}.name", f"cmd.{name}.description"}
        if isinstance(command, app_commands.Group):
            commands += command.commands
            continue
        for parameter in command.parameters:
            keys |= {f"cmd.{name}.{parameter.name}.name", f"cmd.{name}.{parameter.name}.description"}
            keys |= {f"cmd.{name}.{parameter.name}.{choice.value}" for choice in parameter.choices}
    return keys


def test_every_key_is_in_every_language_with_the_same_placeholders():
    english = catalogue("en")
    for lang in LANGUAGES:
        words = catalogue(lang)
        assert set(words) == set(english), (lang, set(english) ^ set(words))
        for key, text in words.items():
            assert text.strip(), (lang, key)
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (lang, key)


def test_no_key_is_missing_from_the_catalogue_or_left_unused():
    used, known = used_keys(), set(catalogue("en"))
    assert used - known == set(), "used in code but not in the catalogue"
    assert known - used == set(), "in the catalogue but never used"


def test_dates_and_numbers_read_as_each_language_writes_them():
    assert Messages("id").date("2025-02-22") == "22 Februari 2025"
    assert Messages("en").date("2025-02-22T10:00:00+00:00") == "22 February 2025"
    assert (Messages("id").number(100000), Messages("en").number(100000)) == ("100.000", "100,000")
    assert Messages("pt-BR").lang == "en", "a language we have no words for falls back to English"


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory, cache_dir):
    from newsbot.bot.settings import BotSettings
    from newsbot.index.engine import Engine

    engine = Engine(make_settings(data_dir=tmp_path_factory.mktemp("i18n"), cache_dir=cache_dir))
    h = Harness(engine, BotSettings(token="unused", ask_rate=1000)).start()
    yield h
    h.stop()
    engine.close()


def test_commands_are_localized_for_indonesian_clients_in_the_synced_schema(bilingual):
    commands = {c["name"]: c for c in bilingual.fake.global_commands}
    assert commands["ask"]["name_localizations"] == {"id": "tanya"}
    assert commands["ask"]["description_localizations"]["id"].startswith("Ajukan pertanyaan")
    question = next(o for o in commands["ask"]["options"] if o["name"] == "question")
    assert question["name_localizations"] == {"id": "pertanyaan"}
    choices = next(o for o in commands["language"]["options"] if o["name"] == "choice")["choices"]
    assert [c["name_localizations"]["id"] for c in choices] == ["Bahasa tiap anggota", "Inggris", "Indonesia"]


def ask_as(h: Harness, question: str, locale: str, user=None):
    inter = h.fake.slash(h.gid, user or h.member, "ask", {"question": question}, locale=locale)
    return embed_of(h.fake.wait_reply(inter))


def test_an_indonesian_member_gets_the_frame_in_indonesian_and_an_english_member_in_english(bilingual):
    question, quoted = answerable()
    indonesian, english = ask_as(bilingual, question, "id"), ask_as(bilingual, question, "en-US")
    assert quoted in indonesian["description"] and quoted in english["description"], "the quote stays in the article's words"
    assert indonesian["footer"]["text"].startswith("Dijawab dalam") and english["footer"]["text"].startswith("Answered in")
    date = {"id": "21 Februari 2025", "en": "21 February 2025"} if quoted.startswith("90") else {"id": "Februari 2025",
                                                                                                "en": "February 2025"}
    assert date["id"] in indonesian["fields"][0]["value"] and date["en"] in english["fields"][0]["value"]


def test_an_abstention_is_worded_in_the_members_language(bilingual):
    indonesian = ask_as(bilingual, UNANSWERABLE, "id")
    english = ask_as(bilingual, UNANSWERABLE, "en-GB")
    assert indonesian["description"].startswith("Artikel yang terindeks tidak membahas pertanyaan ini.")
    assert indonesian["fields"][-1]["name"] == "Artikel terdekat"
    assert english["description"].startswith("The indexed articles don't cover this question.")
    assert english["fields"][-1]["name"] == "Closest articles"


def test_a_permission_refusal_and_a_rate_limit_are_in_the_members_language(bilingual):
    from newsbot.bot.ratelimit import RateLimiter

    refused = bilingual.fake.slash(bilingual.gid, bilingual.member, "add", {"text": "Teks berita."}, locale="id")
    bilingual.fake.wait_until(lambda: refused.response, 10, "the refusal")
    assert refused.original["content"] == "Hanya anggota dengan izin Kelola Server yang bisa menambah artikel."
    bilingual.bot.limiter = RateLimiter(1, 60)
    try:
        ask_as(bilingual, UNANSWERABLE, "id")
        for locale, start in (("id", "Pelan-pelan, ya! Coba lagi dalam"), ("en-US", "You're asking quickly!")):
            limited = bilingual.fake.slash(bilingual.gid, bilingual.member, "ask", {"question": "lagi"}, locale=locale)
            bilingual.fake.wait_until(lambda: limited.response, 10, "the rate limit")
            assert limited.original["content"].startswith(start)
    finally:
        bilingual.bot.limiter = RateLimiter(1000, 60)


def test_a_mention_is_answered_in_the_questions_language(bilingual):
    n = len(bilingual.fake.channel_messages)
    bilingual.fake.mention(bilingual.gid, bilingual.member, "Siapa pemenang Hadiah Nobel Kimia tahun 2024?")
    reply = bilingual.fake.wait_until(lambda: bilingual.fake.channel_messages[n:] and bilingual.fake.channel_messages[n],
                                      60, "a reply")
    assert reply["embeds"][0]["footer"]["text"].startswith("Dijawab dalam")


def test_an_admin_pins_the_servers_language_and_it_is_kept_with_the_namespace(bilingual):
    h = bilingual
    pin = h.fake.slash(h.gid, h.admin, "language", {"choice": "id"})
    h.fake.wait_until(lambda: pin.response, 10, "the confirmation")
    assert pin.original["content"] == "Mulai sekarang saya menjawab dalam bahasa Indonesia di server ini."
    assert ask_as(h, UNANSWERABLE, "en-US")["description"].startswith("Artikel yang terindeks"), "pinned over the member's"
    h.bot.locales.clear()  # as after a restart: read back from the namespace
    assert h.engine.preference("locale", f"guild-{h.gid}") == "id"
    assert ask_as(h, UNANSWERABLE, "en-US")["description"].startswith("Artikel yang terindeks")
    auto = h.fake.slash(h.gid, h.admin, "language", {"choice": "auto"})
    h.fake.wait_until(lambda: auto.response, 10, "the confirmation")
    assert ask_as(h, UNANSWERABLE, "en-US")["description"].startswith("The indexed articles")


def test_the_cli_frames_in_indonesian_with_lang_id(sample_engine, settings):
    sample_engine.close()
    abstained = run_cli(["ask", UNANSWERABLE, "--lang", "id"], settings).stdout.decode()
    assert abstained.startswith("Artikel yang terindeks tidak membahas pertanyaan ini.") and "Artikel terdekat:" in abstained
    question, quoted = answerable()
    answered = run_cli(["ask", question, "--lang", "id"], settings).stdout.decode()
    assert quoted in answered and "\nSumber:\n" in answered and "Februari 2025" in answered
    english = run_cli(["ask", UNANSWERABLE], settings).stdout.decode()
    assert english.startswith("The indexed articles don't cover this question.")


def test_a_generated_answer_is_asked_in_the_chosen_language(tmp_path, cache_dir):
    from support.fake_llm import FakeLLM, Reply
    from newsbot.index.engine import Engine

    llm = FakeLLM()
    settings = make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, llm_provider="openai-compatible",
                             llm_base_url=llm.openai_url, llm_api_key="sk-test", llm_model="test-model")
    question, _ = answerable()
    try:
        with Engine(settings) as engine:
            engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
            for lang, name in ((None, "English"), ("id", "Indonesian")):
                llm.play(Reply("Jawaban [1]."))
                engine.ask(question, answer_lang=lang)
                user = llm.requests[0]["messages"][1]["content"]
                assert f"Answer in {name}, citing" in user and "Question (English):" in user
    finally:
        llm.close()


def test_the_engines_own_english_abstention_is_the_catalogues():
    from newsbot.index.answering import extractive as answer

    assert answer.ABSTAIN_TEXT == Messages("en").t("answer.not_covered")
