"""Damaged files on disk: derived stores (the lexical index, the embedding cache) are
rebuilt with a warning; Chroma's file, the system of record, gives a clear error naming it."""
from __future__ import annotations

import os
import shutil
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
    shutil.copy(cache_dir / "embeddings.sqlite", data / "embeddings.sqlite")
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
