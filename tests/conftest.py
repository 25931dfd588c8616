"""Shared fixtures: real engines on temporary data directories, one shared embedding cache.

The embedding cache is shared by the whole session, and kept between runs (`cache_dir`), so that
the sample articles and the shared sets are embedded once; every index is still built for real.

Two tiers. `make test` (CI) runs everything on the real model. `make test-fast` (`pytest --fast`)
runs the engine, CLI and bot on a deterministic fake embedder (tests/support/fake_embedder.py) and leaves
out the tests marked `model` (their assertions are about what the real model finds: cross-lingual
retrieval, answer quality, the model itself; or they build and install the package) and `drill`
(whole processes killed, disks filled or made read-only, damaged files met command after command).
In both tiers `run_cli` forks each `newsbot` command from a server that has its imports done
(tests/support/cli_forkserver.py): still a process of its own running the real `main`, without the
1-2 s of imports a fresh interpreter spends, a minute of `make test`. A command's start itself is
tested by tests/cli/test_cli_forkserver.py (fresh and forked alike, on the real model in `make test`)
and the installed wheel's test; `pytest --fresh-cli` starts every command afresh.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsbot.index.engine import Engine
from newsbot.index.settings import Settings
from support.cli_forkserver import CliForkServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED_QUESTION = "What did Zelenskyy say about the minerals deal?"


FAKE_EMBEDDER = {"embed_provider": "custom", "embed_model": "support.fake_embedder:HashEmbedding",
                 "reader_model": "support.fake_reader:OverlapReader"}
FAST = False  # set by --fast
FRESH_CLI = False  # set by --fresh-cli


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true",
                     help="the fast tier: a fake embedder, and without the tests marked `model`")
    parser.addoption("--fresh-cli", action="store_true",
                     help="start every `newsbot` command as `python -m newsbot.index.cli` instead of forking it")


def pytest_configure(config):
    global FAST, FRESH_CLI
    FAST = config.getoption("--fast")
    FRESH_CLI = config.getoption("--fresh-cli")


def pytest_collection_modifyitems(config, items):
    if not FAST:
        return
    model = pytest.mark.skip(reason="needs the real embedding model (left out of the fast tier)")
    drill = pytest.mark.skip(reason="a whole-process fault drill (left out of the fast tier)")
    for item in items:
        if item.get_closest_marker("model"):
            item.add_marker(model)
        elif item.get_closest_marker("drill"):
            item.add_marker(drill)


def answerable() -> tuple[str, str]:
    """A question the sample articles answer, and words its answer quotes: the seed question (English
    over the Indonesian article, which needs the real model) or, in the fast tier, an English one."""
    if FAST:
        return "How many measles cases were reported in the West Texas outbreak?", "90 cases of measles"
    return SEED_QUESTION, "tidak siap"


def make_settings(**values) -> Settings:
    """Settings for a test's engine: the real model, or in the fast tier the fake embedder."""
    return Settings(**{**(FAKE_EMBEDDER if FAST else {}), **values})


TEST_CACHE = Path(os.environ.get("NEWSBOT_TEST_CACHE") or ROOT / "build" / "test-cache")


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """Embeddings and built model graphs, kept between runs (build/test-cache; NEWSBOT_TEST_CACHE names
    another): the 1,130 shared-set articles the tests index are embedded by the first run only (on a
    fresh clone, as in CI), the later ones index and answer them for real. Derived data, keyed by
    model and text: nothing a test asserts depends on it being cold (a test that needs slow embedding
    embeds text of its own, or has a cache of its own)."""
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    return TEST_CACHE


@pytest.fixture
def settings(tmp_path, cache_dir) -> Settings:
    # Test pages are served on 127.0.0.1, which is refused unless this is on (test_url_ingest proves it).
    return make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir, allow_loopback_urls=True)


@pytest.fixture
def engine(settings):
    with Engine.open(settings) as eng:
        yield eng


@pytest.fixture
def sample_engine(engine):
    """An engine with the seed article and the bundled distractors indexed."""
    engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")))
    return engine


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "CHROMA_", "LLM_"))}
    env.update({"NEWSBOT_DATA_DIR": str(settings.data_dir), "NEWSBOT_CACHE_DIR": str(settings.cache_dir)})
    if settings.embed_provider == "custom":  # the fast tier's fake embedder, importable in the subprocess
        env.update({"NEWSBOT_EMBED_PROVIDER": "custom", "NEWSBOT_EMBED_MODEL": settings.embed_model,
                    "NEWSBOT_READER_MODEL": settings.reader_model,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH")]))})
    env.update(extra)
    return env


_FORKSERVER: CliForkServer | None = None


def forkserver() -> CliForkServer:
    """This worker's fork server for `newsbot` commands (tests/support/cli_forkserver.py says why)."""
    global _FORKSERVER
    if _FORKSERVER is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "CHROMA_", "LLM_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH")]))
        _FORKSERVER = CliForkServer(sys.executable, env, ROOT)
    return _FORKSERVER


def pytest_sessionfinish(session, exitstatus):
    if _FORKSERVER is not None:
        _FORKSERVER.close()


def run_cli(args: list[str], settings: Settings, cwd: Path | None = None, input: bytes | None = None, **env):
    """Run the real `newsbot` command in a process of its own, forked from a server that has the
    imports done (with --fresh-cli, started afresh as `python -m newsbot.index.cli`)."""
    run = run_fresh if FRESH_CLI else run_forked
    return run(args, settings, cwd, input, **env)


def run_fresh(args: list[str], settings: Settings, cwd: Path | None = None, input: bytes | None = None, **env):
    """`newsbot` started afresh, as a user starts it."""
    return subprocess.run(
        [sys.executable, "-m", "newsbot.index.cli", *args],
        cwd=cwd or ROOT,
        env=cli_env(settings, **env),
        input=input,
        capture_output=True,
        timeout=600,
    )


def run_forked(args: list[str], settings: Settings, cwd: Path | None = None, input: bytes | None = None, **env):
    """`newsbot` forked from this worker's fork server."""
    return forkserver().run(args, cli_env(settings, **env), cwd or ROOT, input, timeout=600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` on 127.0.0.1, stopped by its PID afterwards."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("chroma run did not start in 60 s")
    yield ("127.0.0.1", port, proc)
    os.kill(proc.pid, 15)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent (a user's clone)")


# ------------------------------------------------------------------ the reader's training data (issue #26)

TRAIN_PARAGRAPH = ("The mayor opened the new bridge on Monday. " * 5 + "It cost 40 billion rupiah to build, the city "
                   "said. " + "Traffic on the old road fell by half within a week. " * 5)


def write_set(folder: Path, articles: list[dict], questions: list[dict]) -> None:
    folder.mkdir(parents=True)
    for name, rows in (("articles.jsonl", articles), ("questions.jsonl", questions)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def train_dir(tmp_path) -> Path:
    """One set of each shape: IDK-MRC's written_for negatives, RealTimeQA's weeks with near-topic results."""
    paragraphs = [{"id": "p-bridge", "text": TRAIN_PARAGRAPH},
                  {"id": "p-dam", "text": "The dam on the Brantas river holds 20 million cubic metres. It was built "
                                          "in 1972 and feeds the rice fields of four districts, officials said."}]
    write_set(tmp_path / "idkmrc-train", paragraphs, [
        {"id": "q-cost", "question": "How much did the bridge cost?", "answers": ["40 billion rupiah"],
         "article_ids": ["p-bridge"]},
        {"id": "q-unans", "question": "Who designed the bridge?", "answers": [], "article_ids": [],
         "written_for": ["p-bridge"]}])
    from training.splits import held_back

    dev_day = next(f"2024-{m:02d}-10" for m in range(1, 13) if held_back(f"2024-{m:02d}-10"))
    train_day = next(f"2024-{m:02d}-10" for m in range(1, 13) if not held_back(f"2024-{m:02d}-10"))
    news = [{"id": f"n-{i}", "text": text} for i, text in enumerate([
        "Bandung won the league title on Sunday after beating Persija 2-1 in the final match.",
        "Persija fans gathered in Jakarta before the final match, police said, and the trains were full.",
        "The dev week's gold: Surabaya opened 12 new libraries on Monday, the culture office said.",
        "The dev week's near story: libraries in Surabaya will open longer at weekends from March.",
        "Another dev week story: Surabaya's libraries lend e-books through a new app, the city said."])]
    write_set(tmp_path / "rtqa-train", news, [
        {"id": "r-train", "question": "Which team won the league title?", "answers": ["Bandung"],
         "article_ids": ["n-0"], "retrieved": ["n-0", "n-1"], "asked_on": train_day},
        {"id": "r-dev", "question": "How many libraries did Surabaya open?", "answers": ["12 new libraries"],
         "article_ids": ["n-2"], "retrieved": ["n-2", "n-3", "n-4"], "asked_on": dev_day}])
    return tmp_path
