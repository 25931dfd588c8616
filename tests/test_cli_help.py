"""`newsbot --help` explains every command."""
from conftest import run_cli


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
