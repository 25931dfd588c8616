"""Damaged files on disk: derived stores (the lexical index, the embedding cache) are
rebuilt with a warning; Chroma's file, the system of record, gives a clear error naming it."""
from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import replace

import pytest

from conftest import SAMPLES, answerable, make_settings, run_cli
from newsbot.index.engine import Engine

DAMAGE = {
    "truncated": lambda data: data[: len(data) // 3],
    "garbage mid-file": lambda data: data[: len(data) // 2] + os.urandom(len(data) - len(data) // 2),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, cache_dir):
    """An index of the sample articles whose embedding cache lives inside the data directory."""

    data = tmp_path_factory.mktemp("pristine") / "data"
    shared = make_settings(data_dir=data, cache_dir=cache_dir)
    with Engine(shared) as engine:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
    # SQLite's backup, not a file copy: the session cache is shared with another worker that may be writing it
    source, copy = sqlite3.connect(cache_dir / "embeddings.sqlite", timeout=30), sqlite3.connect(data / "embeddings.sqlite")
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return data


@pytest.fixture
def damaged_copy(pristine, tmp_path, settings):
    def make(relative: str, how: str):
        data = tmp_path / "copy"
        shutil.copytree(pristine, data)
        path = data / relative
        path.write_bytes(DAMAGE[how](path.read_bytes()))
        return replace(settings, data_dir=data, cache_dir=data), path
    return make


@pytest.mark.drill
@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("relative, what", [("lexical.sqlite", "the lexical index"),
                                            ("embeddings.sqlite", "the embedding cache")])
def test_a_damaged_derived_store_is_rebuilt_with_a_warning(damaged_copy, relative, what, how):
    """Damage is found when a damaged page is first read (at open, a question, or the count in
    `stats`); it is then rebuilt once, with one warning, and every command works."""
    settings, path = damaged_copy(relative, how)
    question, quoted = answerable()
    warnings = 0
    for args in (["ask", question], ["ask", question, "--mode", "lexical"], ["stats", "--json"], ["stats", "--json"],
                 ["ask", question]):
        done = run_cli(args, settings)
        err = done.stderr.decode()
        assert done.returncode == 0, err
        assert "Traceback" not in err
        assert quoted in done.stdout.decode() or args[-1] in ("lexical", "--json")
        warnings += err.count(f"{what} {path} is damaged")
    assert warnings == 1, "warned once, rebuilt once"
    with Engine(settings) as engine:
        assert engine.lexical.count("default") == engine.store().count_chunks()


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_lexical_index_warns_which_file_it_rebuilds(damaged_copy, how):
    settings, path = damaged_copy("lexical.sqlite", how)
    done = run_cli(["ask", answerable()[0]], settings)
    assert f"the lexical index {path} is damaged" in done.stderr.decode()


def test_a_lexical_index_damaged_while_open_is_rebuilt_and_the_question_answered(pristine, tmp_path, settings):
    data = tmp_path / "copy"
    shutil.copytree(pristine, data)
    question, _ = answerable()
    with Engine(replace(settings, data_dir=data, cache_dir=data)) as engine:
        assert not engine.ask(question).abstained
        engine.lexical._db.close()
        raw = (data / "lexical.sqlite").read_bytes()
        (data / "lexical.sqlite").write_bytes(DAMAGE["garbage mid-file"](raw))
        for suffix in ("-wal", "-shm"):
            (data / f"lexical.sqlite{suffix}").unlink(missing_ok=True)
        import sqlite3

        engine.lexical._db = sqlite3.connect(str(data / "lexical.sqlite"), check_same_thread=False)
        answer = engine.ask(question, mode="lexical")
        assert answer.passages, "answered after the rebuild"
        assert engine.lexical.count("default") == engine.store().count_chunks()


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_chroma_file_is_a_clear_error_naming_it(damaged_copy, how):
    settings, path = damaged_copy("chroma/chroma.sqlite3", how)
    done = run_cli(["ask", answerable()[0]], settings)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert f"the vector store file {path} is damaged" in err and "restore the data directory" in err
    assert "Traceback" not in err


def test_a_garbage_journal_is_a_warning_not_an_error(pristine, tmp_path, settings):
    data = tmp_path / "copy"
    shutil.copytree(pristine, data)
    (data / "pending-default.json").write_bytes(b"\x00garbage")
    question, quoted = answerable()
    done = run_cli(["ask", question], replace(settings, data_dir=data, cache_dir=data))
    assert done.returncode == 0 and quoted in done.stdout.decode()
    assert "unreadable" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


def garble_page(data: bytes, page: int = 1) -> bytes:
    """One 4 KiB page of garbage, the rest intact: what made Chroma's Rust core panic."""
    return data[: 4096 * page] + os.urandom(4096) + data[4096 * (page + 1):]


@pytest.mark.parametrize("command", [["stats"], ["sources"], ["ask", "How many measles cases were reported?"]])
def test_a_panic_of_chromas_core_over_a_damaged_store_is_the_clear_error(pristine, tmp_path, settings, command):
    data = tmp_path / "copy"
    shutil.copytree(pristine, data)
    store = data / "chroma" / "chroma.sqlite3"
    store.write_bytes(garble_page(store.read_bytes()))
    done = run_cli(command, replace(settings, data_dir=data, cache_dir=data))
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err and "PanicException" not in err, err
    assert "panicked" not in err and "RUST_BACKTRACE" not in err, "Rust's own panic text never reaches the user"
    assert f"the vector store file {store} is damaged" in err


def test_health_reports_a_missing_store_and_creates_none(pristine, tmp_path, settings):
    data = tmp_path / "copy"
    shutil.copytree(pristine, data)
    (data / "chroma" / "chroma.sqlite3").unlink()
    done = run_cli(["health"], replace(settings, data_dir=data, cache_dir=data))
    assert done.returncode == 1 and "no vector store" in done.stderr.decode() and not done.stdout
    assert not (data / "chroma" / "chroma.sqlite3").exists(), "health created an empty store in its place"


def test_health_of_a_data_directory_that_does_not_exist_is_unhealthy_and_creates_nothing(tmp_path, settings):
    missing = tmp_path / "nowhere"
    done = run_cli(["health"], replace(settings, data_dir=missing, cache_dir=tmp_path / "cache"))
    assert done.returncode == 1 and "no data directory" in done.stderr.decode()
    assert not missing.exists()


@pytest.mark.parametrize("relative, advice", [("chroma/chroma.sqlite3", "restore the data directory from a backup"),
                                              ("lexical.sqlite", "it is derived and is rebuilt at the next start"),
                                              ("feeds.sqlite", "restore the data directory from a backup")])
def test_health_checks_the_integrity_of_every_sqlite_file_one_line_each(pristine, tmp_path, settings, relative, advice):
    from newsbot.index.sources.feeds import FeedStore

    data = tmp_path / "copy"
    shutil.copytree(pristine, data)
    FeedStore(data).close()
    for name in ("feeds.sqlite", "lexical.sqlite"):  # big enough to have a page past the header
        db = __import__("sqlite3").connect(data / name)
        db.execute("CREATE TABLE IF NOT EXISTS ballast (x)")
        db.executemany("INSERT INTO ballast VALUES (?)", [("x" * 500,)] * 200)
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    path = data / relative
    path.write_bytes(garble_page(path.read_bytes(), page=2))
    done = run_cli(["health"], replace(settings, data_dir=data, cache_dir=data))
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 1 and not done.stdout
    assert [line for line in lines if str(path) in line] == [line for line in lines if line.startswith("unhealthy:")]
    assert len(lines) == 1 and advice in lines[0], lines
