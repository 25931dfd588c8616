"""Running newsbot as a service: health, audit, data directory, readable stats, clear one-line errors."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SAMPLES, cli_env, run_cli
from newsbot.index.storage import audit
from newsbot.index.service import health
from newsbot.index.cli.adding import count_sources


def test_health_is_ok_when_the_store_opens_and_the_model_answers(sample_engine, settings):
    sample_engine.close()
    done = run_cli(["health"], settings)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.startswith("ok:") and str(settings.data_dir) in out and "31 articles" in out


def test_health_of_a_bot_that_is_not_running_is_one_line_and_exit_1(settings):
    done = run_cli(["health", "--bot"], settings)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "unhealthy: no bot status: `newsbot serve` is not running on this data directory"


def test_a_stale_or_disconnected_bot_status_is_unhealthy(tmp_path):
    fresh = health.ServeStatus(pid=os.getpid(), written_at=time.time(), connected=True, latency_ms=41.0, guilds=2,
                               data_dir=str(tmp_path))
    health.write_status(tmp_path, fresh)
    assert health.judge(health.read_status(tmp_path))[0]
    assert not health.judge(health.read_status(tmp_path), now=time.time() + 120)[0], "stuck: no report for 2 minutes"
    health.write_status(tmp_path, health.ServeStatus(**{**fresh.__dict__, "connected": False}))
    ok, why = health.judge(health.read_status(tmp_path))
    assert not ok and "not connected" in why
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    health.write_status(tmp_path, health.ServeStatus(**{**fresh.__dict__, "pid": dead.pid}))
    ok, why = health.judge(health.read_status(tmp_path))
    assert not ok and "not running" in why


def test_every_cli_add_and_remove_is_audited_with_who_and_what(settings):
    run_cli(["add", "--jsonl", str(SAMPLES / "articles.jsonl")], settings)
    run_cli(["remove", "sample-football"], settings)
    entries = audit.read(settings.data_dir, "default")
    assert len(entries) == 32
    added = [e for e in entries if e["action"] == "add"]
    assert {e["status"] for e in added} == {"added"} and all(e["actor"].startswith("cli:") for e in entries)
    assert entries[-1]["action"] == "remove" and entries[-1]["article_id"] == "sample-football"
    assert entries[-1]["title"].startswith("Liverpool")


def test_stats_reads_as_a_table_and_the_json_has_every_field(sample_engine, settings):
    sample_engine.close()
    text = run_cli(["stats"], settings).stdout.decode()
    assert "{" not in text, "no Python dict"
    lines = dict(line.split(None, 1) if not line.startswith(("last added", "  ")) else (line, "") for line in text.splitlines())
    assert text.splitlines()[1].split() == ["articles", "31", "of", "at", "most", "100,000"]
    assert any(line.startswith("languages") and "en 1" in line and "id 1" in line for line in text.splitlines())
    assert "disk used" in text and "last added" in text and lines
    data = json.loads(run_cli(["stats", "--json"], settings).stdout)
    assert data["articles"] == 31 and data["disk_bytes"] > 0 and len(data["last_added"]) == 5


def test_the_progress_total_counts_jsonl_lines_and_directory_files(tmp_path):
    (tmp_path / "dir").mkdir()
    for name in ("a.txt", "b.md", "c.bin", ".hidden.txt"):
        (tmp_path / "dir" / name).write_text("x", encoding="utf-8")
    lines = tmp_path / "articles.jsonl"
    lines.write_text('{"text": "a"}\n\n{"text": "b"}\n{"broken"\n', encoding="utf-8")
    assert count_sources([str(tmp_path / "dir"), "https://example.com/a", "-"], [str(lines), str(tmp_path / "missing")]) \
        == 2 + 1 + 1 + 3 + 1


@pytest.mark.parametrize("command", ["serve", "eval"])
def test_serve_and_eval_refuse_a_namespace_they_would_ignore(settings, command):
    done = run_cli([command, "--namespace", "x"], settings)
    assert done.returncode == 2 and "unrecognized arguments: --namespace" in done.stderr.decode()


def test_an_unexpected_error_is_one_line_and_the_traceback_comes_with_debug(settings):
    broken = {"NEWSBOT_EMBED_PROVIDER": "custom", "NEWSBOT_EMBED_MODEL": "support.fake_embedder:broken"}
    env = {"PYTHONPATH": str(SAMPLES.parent / "tests")}
    done = run_cli(["stats"], settings, **broken, **env)
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err
    assert err.strip() == "error: RuntimeError: the model file is corrupt (run `newsbot --debug ...` for the traceback)"
    done = run_cli(["--debug", "stats"], settings, **broken, **env)
    assert done.returncode == 1 and "Traceback" in done.stderr.decode()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_serve_without_a_reachable_discord_is_one_line_after_a_plain_log(settings, tmp_path, log_format):
    env = cli_env(settings, DISCORD_TOKEN="unreachable.token", NEWSBOT_LOG_FORMAT=log_format, NEWSBOT_LOG_LEVEL="info")
    done = subprocess.run([sys.executable, "-m", "newsbot.index.cli", "serve"], env=env, capture_output=True, timeout=120,
                          cwd=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err and "\x1b[" not in err, err
    *log, last = err.strip().splitlines()
    assert last.startswith("error: cannot reach Discord")
    if log_format == "json":
        records = [json.loads(line) for line in log]
        assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
        assert {"level": "info", "logger": "newsbot.bot", "message": f"data directory: {settings.data_dir}"}.items() \
            <= next(r for r in records if r["logger"] == "newsbot.bot").items()
    else:
        assert any(line.endswith(f"INFO    newsbot.bot: data directory: {settings.data_dir}") for line in log), \
            "the service says which index it opened"


def test_the_log_level_hides_what_is_below_it(settings, tmp_path):
    env = cli_env(settings, DISCORD_TOKEN="unreachable.token", NEWSBOT_LOG_LEVEL="warning")
    done = subprocess.run([sys.executable, "-m", "newsbot.index.cli", "serve"], env=env, capture_output=True, timeout=120,
                          cwd=tmp_path)
    assert "data directory" not in done.stderr.decode() and done.returncode == 1


def test_a_token_discord_refuses_is_one_line(engine):
    from support.fake_discord import FakeDiscord
    from newsbot.bot.app import serve
    from newsbot.bot.settings import BotSettings
    from newsbot.index.errors import NewsbotError

    fake = FakeDiscord().start()
    try:
        async def attempt():
            await serve(engine, BotSettings(token="not-the-token"), **fake.client_options())

        with pytest.raises(NewsbotError, match="Discord refused DISCORD_TOKEN"):
            asyncio.run(attempt())
    finally:
        fake.stop()


def test_a_busy_index_is_waited_for_with_wait_and_refused_at_once_without(engine, settings):
    import threading

    assert not (settings.data_dir / "newsbot.sock").exists(), "a command, not the bot, holds the index"
    refused = run_cli(["stats", "--json"], settings)
    assert refused.returncode == 1 and "in use by another newsbot process" in refused.stderr.decode()
    waiting = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "stats", "--json", "--wait", "60"],
                               cwd=ROOT, env=cli_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = waiting.stderr.readline().decode()  # the index is released only once the command says it waits
    threading.Thread(target=engine.close).start()
    out, rest = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, first + rest.decode()
    assert first.startswith("waiting up to 60 s: the index in")
    assert json.loads(out)["namespace"] == "default"


def test_serve_waits_for_a_short_command_holding_the_index_and_says_so(settings, tmp_path):
    """Before: "in use by another newsbot process" and exit at once, when a cron job's `sources` held the lock."""
    from newsbot.index.engine import Engine

    env = cli_env(settings, DISCORD_TOKEN="unreachable.token", NEWSBOT_LOG_LEVEL="info")
    holder = Engine(settings)  # the short command
    try:
        serve = subprocess.Popen([sys.executable, "-m", "newsbot.index.cli", "serve"], env=env, cwd=tmp_path,
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        first = serve.stderr.readline().decode() + serve.stderr.readline().decode()
        assert "waiting up to 120 s for the index" in first, first
    finally:
        holder.close()  # the short command ends
    err = first + serve.communicate(timeout=120)[1].decode()
    assert serve.returncode == 1 and err.strip().splitlines()[-1].startswith("error: cannot reach Discord"), err
    assert "in use by another newsbot process" not in err.strip().splitlines()[-1]
