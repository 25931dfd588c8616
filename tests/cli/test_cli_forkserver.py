"""The tests' forked `newsbot` commands (tests/support/cli_forkserver.py) behave as the command
started afresh: the same output and exit status, and each one a process of its own."""
import json
import os
import subprocess
import threading

import pytest

from conftest import ROOT, SAMPLES, answerable, cli_env, forkserver, run_forked, run_fresh


def fresh(args, settings, input=None, **env):
    return run_fresh(args, settings, None, input, **env)


def forked(args, settings, input=None, **env):
    return run_forked(args, settings, None, input, **env)


@pytest.mark.parametrize("args", [["--help"], ["add", "--help"], ["add"], ["ask"], ["remove", "no-such-article"],
                                  ["sources", "--namespace", "bad name!"]])
def test_a_forked_command_prints_and_exits_as_a_fresh_one(settings, args):
    expected, got = fresh(args, settings), forked(args, settings)
    assert (got.returncode, got.stdout, got.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_a_forked_command_reads_its_standard_input_and_its_answer_is_a_fresh_ones(settings):
    added = forked(["add", "-", "--title", "Measles", "--source", "Sample Health", "--published", "2025-02-21"],
                   settings, input=(SAMPLES / "articles.jsonl").read_text().splitlines()[0].encode())
    assert added.returncode == 0, added.stderr
    forked(["add", "--jsonl", str(SAMPLES / "articles.jsonl")], settings)
    question, _ = answerable()
    expected, got = fresh(["ask", question], settings), forked(["ask", question], settings)
    assert got.returncode == expected.returncode == 0
    assert got.stdout == expected.stdout and got.stdout


def test_the_environment_of_one_command_does_not_reach_the_next(settings):
    forked(["add", "--jsonl", str(SAMPLES / "articles.jsonl")], settings, NEWSBOT_NAMESPACE="other")
    default = forked(["stats", "--json"], settings)
    other = forked(["stats", "--json"], settings, NEWSBOT_NAMESPACE="other")
    assert json.loads(default.stdout)["articles"] == 0
    assert json.loads(other.stdout)["articles"] > 0


def test_each_command_is_a_process_of_its_own_and_several_run_at_once(sample_engine, settings):
    sample_engine.close()
    results = []
    run = lambda: results.append(forked(["sources", "--wait", "60"], settings))  # noqa: E731
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    pids = {r.pid for r in results}
    assert len(pids) == 3 and os.getpid() not in pids


def test_a_command_past_its_timeout_is_killed_and_the_next_one_runs(engine, settings):
    with pytest.raises(subprocess.TimeoutExpired):  # waits for the index this test's engine holds
        forkserver().run(["stats", "--wait", "60"], cli_env(settings), ROOT, None, timeout=3)
    engine.close()
    assert forked(["stats"], settings).returncode == 0
