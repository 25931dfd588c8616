"""The smaller holes of the second security round: links out of a folder, crafted URLs and
escape codes in metadata, odd encodings, odd namespaces and settings, voter privacy,
and text that would become thousands of chunks."""
from __future__ import annotations

import os
import stat

import pytest

from newsbot.index.storage.feedback import FeedbackStore
from newsbot.bot.render import citation_field
from conftest import run_cli
from newsbot.index.records import AddError
from newsbot.index.errors import ConfigError
from newsbot.index.sources.draft import Draft
from newsbot.index.records import Answer, Citation

STORY = "Presiden meresmikan jalan tol baru di Jawa Timur pada hari Senin, kata kementerian pekerjaan umum."


def test_a_directory_add_does_not_follow_a_link_out_of_the_tree(engine, tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("DISCORD_TOKEN=abc123 and other private configuration of this machine, not an article.")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "story.txt").write_text(STORY, encoding="utf-8")
    (folder / "innocent.txt").symlink_to(secret)
    results = engine.add(engine.drafts_from_sources([str(folder)]))
    errors = [r for r in results if isinstance(r, AddError)]
    assert len(results) == 2 and len(errors) == 1 and "outside" in errors[0].message
    assert all("abc123" not in text for _, text, _ in engine.store().iter_chunks())


def test_a_link_inside_the_tree_is_still_added(engine, tmp_path):
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "story.txt").write_text(STORY, encoding="utf-8")
    (folder / "alias.txt").symlink_to(folder / "sub" / "story.txt")
    results = engine.add(engine.drafts_from_sources([str(folder)]))
    assert sorted(r.status for r in results) == ["added", "duplicate"]


def test_a_crafted_url_cannot_add_a_second_link_to_a_discord_citation():
    url = "https://news.example/a)[click here](https://evil.example/x"
    citation = Citation(1, "a", "Title", "Outlet", "2025-02-22", url, "A quote.", 0, 8)
    _, value = citation_field(citation)
    assert value.count("](") == 1 and value.count("(") == 1 and "evil.example" in value
    assert "%29%5Bclick%20here%5D%28" in value


def test_escape_codes_in_metadata_are_neither_stored_nor_printed(engine, settings):
    hostile = Draft(text=STORY, title="Jalan tol\x1b[2J baru", source="Wire\x1b]0;pwned\x07 News",
                    url="https://news.example/\x1b[31mtol")
    [result] = engine.add([hostile])
    article = engine.article(result.article.id)
    assert "\x1b" not in article.title + article.source + article.url and "\x07" not in article.source
    assert article.source == "Wire]0;pwned News" and article.url == "https://news.example/[31mtol"
    engine.close()
    done = run_cli(["sources"], settings)
    assert b"\x1b" not in done.stdout and b"Wire" in done.stdout


def test_cli_output_strips_control_characters_stored_before_they_were_cleaned():
    from newsbot.index.cli.shared import shown

    assert shown("Outlet\x1b]0;title\x07 \x9b31m\u202eevil") == "Outlet]0;title 31mevil"
    assert shown("two\nlines\tand a tab") == "two\nlines\tand a tab"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_read_not_refused_as_binary(engine, tmp_path, encoding):
    path = tmp_path / "story.txt"
    path.write_bytes(STORY.encode(encoding))
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert result.status == "added" and engine.article(result.article.id).text == STORY


def test_a_short_latin1_file_keeps_its_accents(engine, tmp_path):
    path = tmp_path / "cafe.txt"
    text = "Café owners in São Paulo protest the new tax, the mayor's office said."
    path.write_bytes(text.encode("latin-1"))
    [result] = engine.add(engine.drafts_from_sources([str(path)]))
    assert engine.article(result.article.id).text == text


@pytest.mark.parametrize("namespace", ["news\n", "news\r", "-news", "a" * 64, "new s", "news/../x"])
def test_invalid_namespaces_are_refused(engine, namespace):
    with pytest.raises(ConfigError, match="invalid namespace"):
        engine.add([Draft(text=STORY)], namespace=namespace)


@pytest.mark.parametrize("variable, value, message", [
    ("NEWSBOT_TOP_K", "0", "NEWSBOT_TOP_K=0"),
    ("NEWSBOT_TOP_K", "-3", "NEWSBOT_TOP_K=-3"),
    ("NEWSBOT_ABSTAIN_THRESHOLD", "nan", "NEWSBOT_ABSTAIN_THRESHOLD=nan"),
    ("NEWSBOT_ABSTAIN_THRESHOLD", "2", "a number from 0 to 1"),
    ("NEWSBOT_RETRIEVAL_MODE", "fuzzy", "one of auto, dense, lexical, hybrid"),
    ("NEWSBOT_CHUNK_OVERLAP", "300", "NEWSBOT_CHUNK_OVERLAP"),
    ("NEWSBOT_FETCH_TIMEOUT_S", "inf", "NEWSBOT_FETCH_TIMEOUT_S=inf"),
    ("LLM_PROVIDER", "skynet", "LLM_PROVIDER='skynet'"),
    ("NEWSBOT_NAMESPACE", "has space", "NEWSBOT_NAMESPACE"),
    ("CHROMA_PORT", "70000", "CHROMA_PORT=70000"),
])
def test_an_invalid_setting_is_one_clear_line(settings, variable, value, message):
    done = run_cli(["stats"], settings, **{variable: value})
    err = done.stderr.decode()
    assert done.returncode == 1 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("k", ["-3", "0", "many"])
def test_an_invalid_k_is_a_usage_error(settings, k):
    done = run_cli(["ask", "--k", k, "anything"], settings)
    assert done.returncode == 2 and "argument --k" in done.stderr.decode() and b"Traceback" not in done.stderr


def test_invalid_bot_settings_are_refused(tmp_path):
    from newsbot.bot.settings import BotSettings

    for bad in ({"NEWSBOT_ASK_RATE": "0"}, {"NEWSBOT_BOT_WORKERS": "-1"}, {"NEWSBOT_ASK_WINDOW_S": "nan"},
                {"DISCORD_GUILD_ID": "abc"}):
        env = tmp_path / "bot.env"
        env.write_text("".join(f"{k}={v}\n" for k, v in bad.items()))
        with pytest.raises(ConfigError, match="invalid bot setting"):
            BotSettings.load(env)


def test_feedback_hashes_use_a_random_salt_per_install(tmp_path):
    answer = Answer("q?", "a", False)
    one = FeedbackStore(tmp_path / "one" / "feedback.jsonl")
    two = FeedbackStore(tmp_path / "two" / "feedback.jsonl")
    a = one.record(namespace="n", answer=answer, user_id=42, vote="up")["user"]
    b = two.record(namespace="n", answer=answer, user_id=42, vote="up")["user"]
    again = FeedbackStore(tmp_path / "one" / "feedback.jsonl").record(namespace="n", answer=answer, user_id=42, vote="up")
    assert a != b, "the same member hashes differently in two installations"
    assert again["user"] == a, "and the same within one, across restarts"
    salt = tmp_path / "one" / "feedback.salt"
    assert stat.S_IMODE(os.stat(salt).st_mode) == 0o600 and len(salt.read_text()) == 32


def test_a_huge_word_is_refused_as_not_an_article(engine):
    [result] = engine.add([Draft(text="Intro. " + "x" * 900_000, title="blob")])
    assert isinstance(result, AddError) and "not an article" in result.message


def test_an_article_with_an_encoded_blob_gets_full_size_chunks(engine):
    prose = " ".join(f"Paragraph {i}: the council of Bogor met again to discuss parking fees, officials said." for i in range(60))
    blob = "iVBORw0KGgoAAAANSUhEUgAA" * 200  # an inline image, 4,800 characters without a space
    [result] = engine.add([Draft(text=f"{prose}\n\n{blob}\n\n{prose}", title="With an image")])
    tokens = engine.embedder.model.token_count(f"{prose} {blob} {prose}")
    assert result.status == "added" and result.chunks <= tokens // 200 + 2, (result.chunks, tokens)
    article = engine.article(result.article.id)
    for _, text, meta in engine.store().iter_chunks():
        assert article.text[meta["start"]:meta["end"]] == text


def test_a_feedback_line_cut_short_by_a_crash_is_skipped_and_the_eval_still_reads_the_rest(tmp_path):
    from newsbot.index.evaluation.run import feedback_questions, summarize_feedback

    store = FeedbackStore(tmp_path / "feedback.jsonl")
    answer = Answer("Q?", "A [1].", False, [], [])
    store.record(namespace="n", answer=answer, user_id=1, vote="up")
    with store.path.open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-11-29T10:00:00+00:00", "vote": "do')  # the process died mid-append
    store.record(namespace="n", answer=answer, user_id=2, vote="down")
    assert [r["vote"] for r in store.read()] == ["up", "down"]
    assert summarize_feedback(store.path)["total"] == 2 and len(feedback_questions(store.path)) == 2
