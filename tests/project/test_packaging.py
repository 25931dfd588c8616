"""The wheel is the whole product: built from the checkout, installed in a fresh venv elsewhere, it answers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, SEED_QUESTION
from support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.model  # builds and installs the package


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of what the wheel is made of (setuptools builds in the source tree)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("index", "bot", "prompts"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_installs_one_package_named_newsbot_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"newsbot"}, "nothing generic (index, bot) lands in site-packages"
    for data in ("newsbot/prompts/system.txt", "newsbot/prompts/answer.txt", "newsbot/index/answering/answerability.json",
                 "newsbot/index/text/stopwords/en.txt", "newsbot/index/text/stopwords/id.txt",
                 "newsbot/index/evaluation/report_assets/page.js", "newsbot/index/evaluation/report_assets/page.css"):
        assert data in names
    for folder, package in (("index", "newsbot/index"), ("bot", "newsbot/bot"), ("prompts", "newsbot/prompts")):
        for init in (ROOT / folder).rglob("__init__.py"):  # every subpackage: a new one left out of pyproject is caught here
            assert f"{package}/{init.relative_to(ROOT / folder).as_posix()}" in names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Name: newsbot-qa" in text and "Requires-Dist: charset-normalizer" in text
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "newsbot = newsbot.index.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_the_installed_wheel_answers_with_the_llm_outside_the_checkout(wheel, tmp_path, cache_dir):
    """A fresh venv holds only the wheel; the dependencies come from this venv's site-packages
    through a .pth line (no download), which does not run this checkout's editable finder."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "newsbot-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake = FakeLLM()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "CHROMA_", "LLM_", "PYTHON"))}
        env.update(NEWSBOT_DATA_DIR=str(tmp_path / "data"), NEWSBOT_CACHE_DIR=str(cache_dir),
                   LLM_PROVIDER="openai-compatible", LLM_BASE_URL=fake.openai_url, LLM_API_KEY="sk-test", LLM_MODEL="test-model")
        where = subprocess.run([str(python), "-c", "import newsbot.index.cli as c; print(c.__file__)"], cwd=elsewhere, env=env,
                               check=True, capture_output=True, text=True).stdout
        assert str(site) in where and str(ROOT) not in where, where
        newsbot = str(venv / "bin" / "newsbot")
        added = subprocess.run([newsbot, "add", "--jsonl", str(SAMPLES / "articles.jsonl")], cwd=elsewhere, env=env,
                               capture_output=True, text=True, timeout=300)
        assert added.returncode == 0, added.stderr
        fake.play(Reply("Zelenskyy said Ukraine was not ready to sign the minerals deal [1]."))
        asked = subprocess.run([newsbot, "ask", SEED_QUESTION, "--llm", "--json"], cwd=elsewhere, env=env,
                               capture_output=True, text=True, timeout=300)
        assert asked.returncode == 0, asked.stderr
        data = json.loads(asked.stdout)
        assert data["mode"] == "llm" and data["citations"], data
        prompt = fake.requests[-1]["messages"]
        assert "news assistant" in prompt[0]["content"], "the system prompt came from the installed package data"
    finally:
        fake.close()
