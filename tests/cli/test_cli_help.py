"""`newsbot --help` explains every command; `--version`; a question from standard input."""
import json
import subprocess
import sys

from conftest import answerable, run_cli


def test_help_lists_every_command(settings):
    out = run_cli(["--help"], settings)
    assert out.returncode == 0
    text = out.stdout.decode()
    for command in ("add", "ask", "sources", "remove", "stats"):
        assert command in text
    assert "NEWSBOT_DATA_DIR" in text and "CHROMA_HOST" in text


def test_add_help_explains_sources_and_options(settings):
    text = run_cli(["add", "--help"], settings).stdout.decode()
    for option in ("--jsonl", "--title", "--url", "--published", "--source", "stdin", "directory"):
        assert option in text


def test_add_without_sources_is_a_usage_error(settings):
    out = run_cli(["add"], settings)
    assert out.returncode == 2 and "SOURCE" in out.stderr.decode()


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    done = subprocess.run([sys.executable, "-m", "newsbot.index.cli", "--version"], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.decode().strip() == f"newsbot {version('newsbot-qa')}"


def test_ask_dash_reads_the_question_from_stdin(sample_engine, settings):
    sample_engine.close()
    question, quoted = answerable()
    done = run_cli(["ask", "-", "--json"], settings, input=question.encode())
    data = json.loads(done.stdout)
    assert data["question"] == question and quoted in data["answer"]


def test_ask_on_an_empty_store_names_the_folder_it_looked_in(settings):
    done = run_cli(["ask", "What did Zelenskyy say about the minerals deal?"], settings)
    assert done.returncode == 0
    err = done.stderr.decode()
    assert f"the data directory {settings.data_dir}" in err and "'default'" in err and "NEWSBOT_DATA_DIR" in err


def test_warm_builds_the_model_files_a_question_needs(settings, tmp_path):
    done = run_cli(["warm"], settings, NEWSBOT_MODEL_DIR=str(tmp_path / "model"))
    assert done.returncode == 0, done.stderr
    assert f"ready in {tmp_path / 'model'}" in done.stdout.decode() and "reader:" in done.stdout.decode()


def test_the_stderr_filter_drops_rust_panic_reports_and_passes_progress_at_once():
    from newsbot.index.cli.native_stderr import PanicFilter

    f = PanicFilter()
    assert f.feed(b"adding: 1/3 articles\r") == b"adding: 1/3 articles\r", "a progress update is not held back"
    said = f.feed(b"\nthread '<unnamed>' (12781) panicked at rust/sqlite/src/db.rs:245:14:\nExpect it to be fetched: "
                  b"malformed\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n")
    assert said == b"\n"
    assert f.feed(b"error: the vector store file is damaged\n") == b"error: the vector store file is damaged\n"
    f.feed(b"thread 'x' panicked at a.rs:1:1:\nno note follows\n")
    assert f.feed(b"error: newsbot's own line\n") == b"error: newsbot's own line\n", "never eats newsbot's error"


def test_the_progress_total_counts_jsonl_lines_a_block_at_a_time(tmp_path):
    """A 60 MB line was held twice over just to count it for the progress bar."""
    from newsbot.index.cli.adding import count_lines

    cases = [(b'{"a": 1}\n\n{"b": 2}\n', 2), (b"x\n  \ny", 2), (b"", 0), (b"\n \n", 0),
             (b"x" * 5000 + b"\n" + b" " * 3000 + b"y\n", 2), (b" " * 2500 + b"\n" * 3 + b"z", 1)]
    for data, lines in cases:
        (tmp_path / "f.jsonl").write_bytes(data)
        assert count_lines(tmp_path / "f.jsonl", block=1000) == lines, data[:40]
