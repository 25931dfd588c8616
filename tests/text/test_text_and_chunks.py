"""Text cleaning, sentence spans and chunks keep offsets that slice back to their text."""
import json

from hypothesis import given, settings as hsettings, strategies as st

from conftest import SAMPLES
from newsbot.index.text.chunking import chunk_text
from newsbot.index.text.words import clean_text, content_hash, derive_title, sentence_spans

SEED = json.loads((SAMPLES / "articles.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]


def test_chunks_slice_back_to_their_text_and_cover_the_article():
    chunks = chunk_text("seed", SEED, chunk_tokens=128, chunk_overlap=16)
    assert len(chunks) > 5
    for c in chunks:
        assert SEED[c.start : c.end] == c.text
    assert chunks[0].start == 0 and chunks[-1].end == len(SEED)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start <= a.end + 2, "no text falls between chunks"


def test_chunks_end_at_sentence_boundaries():
    for c in chunk_text("seed", SEED, chunk_tokens=128, chunk_overlap=0):
        assert c.text[-1] in ".”\"!?" or c.end == len(SEED) or SEED[c.end] == "\n"


def test_chunk_size_follows_the_setting():
    small = chunk_text("seed", SEED, chunk_tokens=64, chunk_overlap=0)
    large = chunk_text("seed", SEED, chunk_tokens=400, chunk_overlap=0)
    assert len(small) > 2 * len(large)


def test_sentence_spans_keep_quotes_abbreviations_and_lowercase_continuations():
    text = "“Saya sudah berbicara.” katanya. Dr. Smith met U.S. officials. Prices rose 3.5 percent!\nAP Photo"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "“Saya sudah berbicara.” katanya.",
        "Dr. Smith met U.S. officials.",
        "Prices rose 3.5 percent!",
        "AP Photo",
    ]


def test_clean_text_removes_zero_width_and_control_characters_and_folds_blank_lines():
    assert clean_text("a\u200bb\x07c\r\n\r\n\r\n\r\nd  e ") == "abc\n\nd e"


def test_content_hash_ignores_whitespace_changes():
    assert content_hash("Ukraine  says\nno.") == content_hash("Ukraine says no.")
    assert content_hash("Ukraine says no.") != content_hash("Ukraine says yes.")


def test_derived_title_is_the_first_line_cut_at_a_word():
    assert derive_title("## Floods in Bekasi\nbody") == "Floods in Bekasi"
    long = derive_title("word " * 50)
    assert len(long) <= 91 and long.endswith("…")


@hsettings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_chunk_offsets_always_slice_back(raw):
    text = clean_text(raw)
    for c in chunk_text("x", text, chunk_tokens=32, chunk_overlap=4):
        assert text[c.start : c.end] == c.text and c.text.strip()
    for a, b in sentence_spans(text):
        assert 0 <= a < b <= len(text) and text[a:b] == text[a:b].strip()


def test_key_names_are_capitalised_words_not_sentence_starts_possessives_stripped():
    from newsbot.index.answering.question import key_names

    assert key_names("What did the Pope say about artificial intelligence?") == ["Pope"]
    assert key_names("When will the next iPhone be released?") == ["iPhone"]
    assert key_names("What did the EU's sanctions target? Then NATO met.") == ["EU", "NATO"]
    assert key_names("siapa pelatih baru Manchester United?") == ["Manchester", "United"]


def test_key_names_of_a_headline_are_only_its_acronyms_and_mixed_case_words():
    from newsbot.index.answering.question import key_names

    assert key_names("Jakarta Wage Council Stipulates UMP Rp 2.2 Million") == ["UMP"]


def test_an_unsure_language_guess_yields_to_a_plausible_language_of_the_index():
    from newsbot.index.text.language import detect_language

    question = "Berapa jumlah korban gempa di Turki?"
    assert detect_language(question) != "id", "the detector alone guesses Italian"
    assert detect_language(question, frozenset({"en", "id"})) == "id"
    assert detect_language("What did the Pope say about artificial intelligence?", frozenset({"id"})) == "en"


def test_years_are_four_digit_years_not_parts_of_numbers():
    from newsbot.index.text.words import years

    assert years("Who won the 2022 World Cup, and the 1998 one?") == {"2022", "1998"}
    assert years("Rp 2.022 triliun, 20225 orang, 1,2019 ton") == set()


def test_an_article_is_about_another_year_only_if_dated_otherwise_and_silent_about_it():
    from newsbot.index.answering.answerability import about_another_year
    from newsbot.index.records import Article

    dated = Article("a", "t", "Kualifikasi Piala Dunia 2026.", published_at="2024-11-19")
    assert about_another_year({"2022"}, dated)
    assert not about_another_year({"2026"}, dated), "the text names the year"
    assert not about_another_year({"2024"}, dated), "published that year"
    assert not about_another_year({"2023"}, dated), "published the year after"
    assert not about_another_year({"2022"}, Article("b", "t", "Undated text.")), "undated: cannot tell"
    assert not about_another_year(set(), dated)
