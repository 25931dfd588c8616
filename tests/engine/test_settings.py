"""Settings come from .env and the environment; the environment wins; every one is documented."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from newsbot.index.errors import ConfigError
from newsbot.bot.settings import BotSettings
from newsbot.index.settings import Settings, data_dir_notice


def test_dotenv_values_are_read(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSBOT_TOP_K", raising=False)
    env = tmp_path / ".env"
    env.write_text("NEWSBOT_TOP_K=9\nNEWSBOT_DATA_DIR=/srv/newsbot\nCHROMA_HOST=chroma.internal\n", encoding="utf-8")
    monkeypatch.delenv("NEWSBOT_DATA_DIR", raising=False)
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    s = Settings.load(env)
    assert (s.top_k, s.data_dir, s.chroma_host, s.server_mode) == (9, Path("/srv/newsbot"), "chroma.internal", True)


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("NEWSBOT_TOP_K=9\n", encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_TOP_K", "3")
    assert Settings.load(env).top_k == 3


def empty_env(folder: Path) -> Path:
    """A settings file with nothing in it: the environment alone decides."""
    (folder / "empty.env").write_text("", encoding="utf-8")
    return folder / "empty.env"


def test_defaults_without_a_file(tmp_path, monkeypatch):
    for name in Settings.env_names().values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./.env here (a named file that is missing is an error: test_hostile_round3)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = Settings.load()
    assert s.data_dir == tmp_path / "xdg" / "newsbot" and s.embed_provider == "onnx" and not s.server_mode
    assert data_dir_notice(s) == ""


def test_the_default_data_directory_is_the_same_from_any_folder(tmp_path, monkeypatch):
    """Not ./data of wherever a command runs: `ask` from another folder reads the same index."""
    monkeypatch.delenv("NEWSBOT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    seen = set()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        seen.add(Settings.load(empty_env(tmp_path)).data_dir)
    assert seen == {tmp_path / "xdg" / "newsbot"}


def test_a_data_folder_an_earlier_version_made_here_is_used_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSBOT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()  # a folder named data that is not newsbot's is left alone
    (tmp_path / "data" / "photos.jpg").write_bytes(b"x")
    assert Settings.load(empty_env(tmp_path)).data_dir == tmp_path / "xdg" / "newsbot"
    (tmp_path / "data" / "lexical.sqlite").write_bytes(b"")  # what an earlier newsbot made there
    s = Settings.load(empty_env(tmp_path))
    assert s.data_dir == tmp_path / "data"
    assert str(tmp_path / "data") in data_dir_notice(s) and "NEWSBOT_DATA_DIR" in data_dir_notice(s)
    chosen = Settings.load(empty_env(tmp_path), data_dir=tmp_path / "data")  # --data-dir: chosen, no notice
    assert data_dir_notice(chosen) == ""
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    assert data_dir_notice(Settings.load(empty_env(tmp_path))) == ""


def test_make_clean_never_deletes_a_data_directory():
    done = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    removed = [word for line in done.stdout.splitlines() if line.startswith("rm ")
               for word in line.split("#")[0].split()[2:]]
    assert removed and not any(w.rstrip("/").endswith("data") for w in removed), removed


def test_a_relative_data_directory_is_made_absolute_where_newsbot_starts(tmp_path, monkeypatch):
    """A service started in another directory must name the index it opens, not reopen ./data there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATA_DIR", "store")
    monkeypatch.setenv("NEWSBOT_CACHE_DIR", "~/vectors")
    s = Settings.load(empty_env(tmp_path))
    assert s.data_dir == tmp_path / "store" and s.cache_dir == Path.home() / "vectors"


def test_an_invalid_number_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBOT_TOP_K", "many")
    with pytest.raises(ConfigError, match="NEWSBOT_TOP_K"):
        Settings.load(empty_env(tmp_path))


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert set(Settings.env_names().values()) <= documented
    bot_settings = set(BotSettings.env_names().values())
    assert "DISCORD_TOKEN" in bot_settings and bot_settings <= documented
