"""The third security round: caps on what every source kind may bring, an over-long JSONL line,
impossible dates, questions without a word, the data directory's permissions and ownership, the
settings file, and output closed early. (Feeds: test_feeds.py; the socket: test_service.py;
reindex: test_crash_safety.py; health and damaged stores: test_damaged_files.py.)"""
from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import run_cli
from newsbot.index.errors import InputError
from newsbot.index.sources.draft import MAX_ID_CHARS, MAX_TITLE_CHARS, Draft, normalize_date
from newsbot.index.sources.files import iter_jsonl
from newsbot.index.records import AddError

STORY = ("The city of Surabaya opened its first electric bus line on Monday, with 20 buses running between the "
         "airport and the city centre, the transport agency said.")


def test_a_title_of_megabytes_is_cut_to_the_cap_at_a_word(engine):
    [added] = engine.add([Draft(text=STORY, title="Buses " * 500_000)])
    assert len(added.article.title) <= MAX_TITLE_CHARS and added.article.title.endswith("Buses…")


def test_an_id_longer_than_the_cap_is_that_articles_error(engine):
    [refused] = engine.add([Draft(text=STORY, id="x" * 5_000)])
    assert isinstance(refused, AddError) and f"at most {MAX_ID_CHARS}" in refused.message
    assert engine.sources() == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi",
                                 "https://example.com/" + "a" * 3000])
def test_only_http_article_urls_of_sane_length_are_kept(engine, url):
    [added] = engine.add([Draft(text=STORY, url=url)])
    assert added.article.url == ""


def test_jsonl_imports_apply_the_same_caps(engine, tmp_path):
    rows = [{"id": "i" * 300, "text": STORY}, {"id": "ok", "text": STORY, "url": "javascript:x", "title": "T" * 9000}]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    results = engine.add(engine.drafts_from_jsonl(str(path)))
    assert isinstance(results[0], AddError)
    kept = engine.article("ok")
    assert kept.url == "" and len(kept.title) <= MAX_TITLE_CHARS


@pytest.mark.parametrize("value", ["0000-00-00", "9999-12-31", "1066-10-14", "2026-13-45"])
def test_impossible_publication_dates_are_refused(value):
    with pytest.raises(InputError):
        normalize_date(value, today=date(2026, 12, 2))


def test_tomorrow_is_still_a_publication_date_somewhere():
    assert normalize_date("2026-12-03", today=date(2026, 12, 2)) == "2026-12-03"


def test_a_jsonl_line_over_the_cap_is_that_lines_error_and_the_lines_around_it_are_read(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"id": "before", "text": STORY}) + "\n")
        f.write(json.dumps({"id": "huge", "text": "word " * 400_000}) + "\n")  # 2 MB, over a 1 MB cap
        f.write(json.dumps({"id": "after", "text": STORY}) + "\n")
    items = list(iter_jsonl(path, max_line_bytes=1 << 20))
    assert [getattr(i, "id", None) for i in items] == ["before", None, "after"]
    assert "big.jsonl:2" in str(items[1]) and "more than 1,048,576 bytes" in str(items[1])


def test_reading_past_an_over_long_line_does_not_hold_it(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(b'{"id": "x", "text": "')
        for _ in range(64):
            f.write(b"a" * (1 << 20))  # 64 MB without a newline
        f.write(b'"}\n' + json.dumps({"id": "after", "text": STORY}).encode() + b"\n")
    tracemalloc.start()
    try:
        items = list(iter_jsonl(path, max_line_bytes=4 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(items[0], InputError) and items[1].id == "after"
    assert peak < 16e6, f"{peak / 1e6:.0f} MB held to skip a 64 MB line"


@pytest.mark.parametrize("question", ["?!?!...,,;;::()[]{}", "*", "OR", "what is it?", "AND NOT"])
def test_a_question_without_a_content_word_abstains_and_asks_for_words(engine, question):
    engine.add([Draft(text=STORY, title="Surabaya buses")])
    answer = engine.ask(question)
    assert answer.abstained and answer.reason == "no_words" and not answer.citations
    assert answer.answer.startswith("Ask a question in words")


def test_the_cli_words_a_content_free_question_in_the_readers_language(engine, settings):
    engine.add([Draft(text=STORY, title="Surabaya buses")])
    engine.close()
    done = run_cli(["ask", "--lang", "id", "?!"], settings)
    assert "Ajukan pertanyaan dengan kata-kata" in done.stdout.decode(), done.stderr


def test_a_named_settings_file_that_is_missing_is_an_error_not_a_silent_default(settings, tmp_path):
    done = run_cli(["stats", "--env-file", str(tmp_path / "nope.env")], settings)
    assert done.returncode == 1 and "the settings file" in done.stderr.decode() and "does not exist" in done.stderr.decode()


def test_a_binary_settings_file_is_one_sentence(settings, tmp_path):
    env_file = tmp_path / "binary.env"
    env_file.write_bytes(b"NEWSBOT_TOP_K=\xff\xfe\x00\x01\n")
    done = run_cli(["stats", "--env-file", str(env_file)], settings)
    err = done.stderr.decode()
    assert done.returncode == 1 and "is not UTF-8 text" in err and "UnicodeDecodeError" not in err


def test_a_question_with_a_lone_surrogate_is_answered(sample_engine, settings):
    sample_engine.close()
    question = "How many measles cases were reported \udcff in the West Texas outbreak?"
    done = run_cli(["ask", question.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")], settings)
    assert done.returncode == 0 and "Error" not in done.stderr.decode(), done.stderr


def test_a_fresh_data_directory_is_made_0700_with_its_files_0600(settings, tmp_path):
    import stat

    fresh = tmp_path / "fresh"
    done = run_cli(["add", "-", "--title", "Buses", "--data-dir", str(fresh)], settings, input=STORY.encode())
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    loose = [f"{p.relative_to(fresh)} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in fresh.rglob("*")
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []


def test_a_folder_of_something_else_is_refused_as_a_data_directory_and_left_as_it_was(settings, tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    (foreign / "lexical.sqlite.txt").write_text("my notes", encoding="utf-8")
    done = run_cli(["add", "-", "--data-dir", str(foreign)], settings, input=STORY.encode())
    assert done.returncode == 1 and "holds files that are not newsbot's" in done.stderr.decode()
    assert sorted(p.name for p in foreign.iterdir()) == ["holiday.jpg", "lexical.sqlite.txt"]


def test_a_data_directory_from_before_the_marker_is_still_opened(sample_engine, settings):
    from newsbot.index.storage.data_dir import MARKER

    sample_engine.close()
    (settings.data_dir / MARKER).unlink()
    assert run_cli(["stats"], settings).returncode == 0 and (settings.data_dir / MARKER).exists()


CLOSED_PIPE = """
import os, sys
read, write = os.pipe()
os.close(read)  # the reader is gone before the first line, as `head -1` is after it
os.dup2(write, 1)
from newsbot.index.cli import main
sys.exit(main(["export"]))
"""


def test_export_into_a_pipe_closed_early_ends_quietly(sample_engine, settings):
    import subprocess
    import sys

    from conftest import cli_env

    sample_engine.close()
    done = subprocess.run([sys.executable, "-c", CLOSED_PIPE], capture_output=True, env=cli_env(settings), timeout=600)
    assert done.returncode == 141 and done.stderr.decode() == "", done.stderr.decode()
